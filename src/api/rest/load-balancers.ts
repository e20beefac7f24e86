/**
 * HNS-shaped load balancer routes: /loadbalancers, a whole load balancer changed by PUT /loadbalancers/{id}
 * (HNS ModifyLoadbalancer) and one backend at a time on /loadbalancers/{id}/endpoints.
 * The client and the CLI import the schemas' static types (`import type` only).
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "typebox";
import type { LoadBalancerService, LoadBalancerSpec } from "../../core/load-balancers.js";
import { invalidArgument } from "../../errors.js";
import type { LoadBalancer } from "../../model/types.js";
import {
  LB_DISTRIBUTION_NONE,
  LB_DISTRIBUTION_SOURCE_IP,
  LB_DISTRIBUTION_SOURCE_IP_PROTOCOL,
  LB_DSR as DSR,
  LB_AFFINITY_MAX_SECONDS,
  LB_AFFINITY_SECONDS,
  LB_IPV6 as IPV6,
  LB_PORT_ILB as ILB,
  LB_PORT_KEPT_FLAGS as KEPT_FLAGS,
  LB_PORT_LOCAL_ROUTED_VIP as LOCAL_ROUTED_VIP,
  LB_PORT_PRESERVE_DIP as PRESERVE_DIP,
} from "../../model/hns-load-balancer.js";
import { protocolOf } from "../../policies/port-mapping.js";
import { limits } from "../../model/limits.js";
import { closedObject } from "./closed.js";
import { ErrorBody } from "./wire.js";

const DISTRIBUTION_TYPES = [
  LB_DISTRIBUTION_NONE,
  LB_DISTRIBUTION_SOURCE_IP_PROTOCOL,
  LB_DISTRIBUTION_SOURCE_IP,
];

const portMapping = {
  Protocol: Type.Union([Type.Integer(), Type.String()], { description: "6 or TCP, 17 or UDP" }),
  InternalPort: Type.Integer(),
  ExternalPort: Type.Integer(),
  Flags: Type.Optional(
    Type.Integer({
      description:
        "1: ILB, reachable only from the host's containers; 2: LocalRoutedVIP, and from the host; 4: UseMux and 16: VipExternalIP, kept; 8: PreserveDIP, with DSR",
    }),
  ),
  DistributionType: Type.Optional(
    Type.Integer({
      description: "0: random per connection; 1 or 2: a client keeps its backend (source-IP affinity)",
    }),
  ),
};
const PortMapping = Type.Object(portMapping);

/** hostnet's own field: HNS has no affinity timeout (hcsshim hcn/hcnloadbalancer.go). */
const affinityTimeoutDescription = `hostnet's, not HNS's: with a DistributionType of 1 or 2, how long a client keeps its backend after its last new connection, 1 to ${LB_AFFINITY_MAX_SECONDS} seconds (default: hostnetd --lb-affinity-timeout, ${LB_AFFINITY_SECONDS})`;

export const LoadBalancerRequest = closedObject(
  {
    Name: Type.Optional(Type.String()),
    HostComputeEndpoints: Type.Array(Type.String(), { description: "Backend endpoint ids or names" }),
    FrontendVIPs: Type.Array(Type.String(), { maxItems: limits.vips }),
    PortMappings: Type.Array(closedObject(portMapping), { maxItems: limits.lbPortMappings }),
    Flags: Type.Optional(
      Type.Integer({
        description: "1: DSR; 2: IPv6, every VIP is IPv6 (without VIPs, a NodePort on IPv6 addresses)",
      }),
    ),
    SourceVIP: Type.Optional(Type.String({ description: "The source address backends see" })),
    AffinityTimeoutSeconds: Type.Optional(Type.Integer({ description: affinityTimeoutDescription })),
  },
  { ignoring: "HostComputeLoadBalancer" },
);
export type LoadBalancerRequest = Static<typeof LoadBalancerRequest>;

export const LoadBalancerWire = Type.Object({
  ID: Type.String(),
  Name: Type.String(),
  HostComputeEndpoints: Type.Array(Type.String()),
  FrontendVIPs: Type.Array(Type.String()),
  PortMappings: Type.Array(PortMapping),
  Flags: Type.Integer(),
  SourceVIP: Type.Optional(Type.String()),
  AffinityTimeoutSeconds: Type.Optional(Type.Integer({ description: affinityTimeoutDescription })),
  CreatedAt: Type.String(),
});
export type LoadBalancerWire = Static<typeof LoadBalancerWire>;

export const BackendRequest = closedObject({
  RequestType: Type.Union([Type.Literal("Add"), Type.Literal("Remove")]),
  HostComputeEndpoints: Type.Array(Type.String(), { minItems: 1, maxItems: 1, description: "One endpoint" }),
});
export type BackendRequest = Static<typeof BackendRequest>;

function lbSpec(body: LoadBalancerRequest): LoadBalancerSpec {
  const lbFlags = body.Flags ?? 0;
  if ((lbFlags & ~(DSR | IPV6)) !== 0) throw invalidArgument("Flags", "takes only DSR (1) and IPv6 (2)");
  body.PortMappings.forEach((m, i) => {
    const flags = m.Flags ?? 0;
    const field = `PortMappings[${i}].Flags`;
    if ((flags & ~(ILB | LOCAL_ROUTED_VIP | KEPT_FLAGS)) !== 0)
      throw invalidArgument(
        field,
        "takes only ILB (1), LocalRoutedVIP (2), UseMux (4), PreserveDIP (8) and VipExternalIP (16)",
      );
    // The host reaches a VIP that is not an ILB's already; a NodePort (no VIPs) is on its own addresses.
    if ((flags & LOCAL_ROUTED_VIP) !== 0 && (flags & ILB) === 0 && body.FrontendVIPs.length > 0)
      throw invalidArgument(
        field,
        "LocalRoutedVIP (2) is for ILB and NodePort (no FrontendVIPs) port mappings: the host reaches the others already",
      );
    // Without DSR the VIP is DNAT'ed to the backend's address, which a backend without the VIP needs.
    if ((flags & PRESERVE_DIP) !== 0 && (lbFlags & DSR) === 0)
      throw invalidArgument(
        field,
        "PreserveDIP (8) needs DSR (Flags 1): only a DSR load balancer delivers to the VIP itself",
      );
    if (m.DistributionType !== undefined && !DISTRIBUTION_TYPES.includes(m.DistributionType))
      throw invalidArgument(`PortMappings[${i}].DistributionType`, "must be 0, 1 or 2");
  });
  const ilb = body.PortMappings.map((m) => ((m.Flags ?? 0) & ILB) !== 0);
  if (ilb.some((f) => f !== ilb[0]))
    throw invalidArgument("PortMappings", "either every port mapping has the ILB flag or none has");
  return {
    ...(body.Name === undefined ? {} : { name: body.Name }),
    vips: body.FrontendVIPs.map((value, i) => ({ value, field: `FrontendVIPs[${i}]` })),
    portMappings: body.PortMappings.map((m, i) => {
      const at = `PortMappings[${i}]`;
      return {
        protocol: protocolOf(`${at}.Protocol`, m.Protocol),
        externalPort: { value: m.ExternalPort, field: `${at}.ExternalPort` },
        internalPort: { value: m.InternalPort, field: `${at}.InternalPort` },
        affinity: {
          value: (m.DistributionType ?? LB_DISTRIBUTION_NONE) !== LB_DISTRIBUTION_NONE,
          field: `${at}.DistributionType`,
        },
        localRoutedVip: ((m.Flags ?? 0) & LOCAL_ROUTED_VIP) !== 0,
        keptFlags: (m.Flags ?? 0) & KEPT_FLAGS,
      };
    }),
    backends: body.HostComputeEndpoints.map((ref, i) => ({ field: `HostComputeEndpoints[${i}]`, ref })),
    internal: ilb[0] === true,
    dsr: { value: (lbFlags & DSR) !== 0, field: "Flags" },
    ipv6: { value: (lbFlags & IPV6) !== 0, field: "Flags" },
    ...(body.SourceVIP === undefined ? {} : { sourceVip: { value: body.SourceVIP, field: "SourceVIP" } }),
    ...(body.AffinityTimeoutSeconds === undefined
      ? {}
      : { affinityTimeout: { value: body.AffinityTimeoutSeconds, field: "AffinityTimeoutSeconds" } }),
  };
}

function lbView(lb: LoadBalancer): LoadBalancerWire {
  return {
    ID: lb.id,
    Name: lb.name,
    HostComputeEndpoints: [...lb.backends],
    FrontendVIPs: [...lb.vips],
    PortMappings: lb.portMappings.map((m) => ({
      Protocol: m.protocol === "tcp" ? 6 : 17,
      InternalPort: m.internalPort,
      ExternalPort: m.externalPort,
      Flags: (lb.internal ? ILB : 0) | (m.localRoutedVip ? LOCAL_ROUTED_VIP : 0) | m.keptFlags,
      DistributionType: m.affinity ? LB_DISTRIBUTION_SOURCE_IP : LB_DISTRIBUTION_NONE,
    })),
    Flags: (lb.dsr ? DSR : 0) | (lb.ipv6 ? IPV6 : 0),
    ...(lb.sourceVip === null ? {} : { SourceVIP: lb.sourceVip }),
    ...(lb.affinityTimeout === null ? {} : { AffinityTimeoutSeconds: lb.affinityTimeout }),
    CreatedAt: lb.createdAt,
  };
}

const Ref = Type.Object({ ref: Type.String({ description: "ID or Name" }) });
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 500: ErrorBody };

export function registerLoadBalancerRoutes(app: FastifyInstance, lbs: LoadBalancerService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get("/loadbalancers", { schema: { response: { 200: Type.Array(LoadBalancerWire), ...errors } } }, () =>
    lbs.list().map(lbView),
  );
  r.post(
    "/loadbalancers",
    { schema: { body: LoadBalancerRequest, response: { 201: LoadBalancerWire, ...errors } } },
    async (req, reply) => reply.code(201).send(lbView(await lbs.create(lbSpec(req.body)))),
  );
  r.get(
    "/loadbalancers/:ref",
    { schema: { params: Ref, response: { 200: LoadBalancerWire, ...errors } } },
    (req) => lbView(lbs.get(req.params.ref)),
  );
  r.put(
    "/loadbalancers/:ref",
    { schema: { params: Ref, body: LoadBalancerRequest, response: { 200: LoadBalancerWire, ...errors } } },
    async (req) => lbView(await lbs.update(req.params.ref, lbSpec(req.body))),
  );
  r.delete(
    "/loadbalancers/:ref",
    { schema: { params: Ref, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      await lbs.delete(req.params.ref);
      return reply.code(204).send(null);
    },
  );
  r.post(
    "/loadbalancers/:ref/endpoints",
    { schema: { params: Ref, body: BackendRequest, response: { 200: LoadBalancerWire, ...errors } } },
    async (req) => {
      const backend = { field: "HostComputeEndpoints[0]", ref: req.body.HostComputeEndpoints[0] ?? "" };
      const lb =
        req.body.RequestType === "Add"
          ? await lbs.addBackend(req.params.ref, backend)
          : await lbs.removeBackend(req.params.ref, backend);
      return lbView(lb);
    },
  );
}
