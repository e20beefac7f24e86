/** HNS-shaped routes: decode the wire, make one service call, encode the answer. */
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { HostnetService } from "../../core/service.js";
import { invalidArgument } from "../../errors.js";
import { policyView } from "../../policies/view.js";
import {
  AttachRequest,
  EndpointRequest,
  EndpointWire as Endpoint,
  endpointSpec,
  EndpointStats,
  endpointStatsView,
  endpointView,
  ErrorBody,
  attachSpec,
  NamespaceRequest,
  NamespaceWire as Namespace,
  namespaceSpec,
  namespaceView,
  NetworkRequest,
  NetworkWire as Network,
  Plan,
  PolicyList,
  PolicyRequest,
  policyRequest,
  networkPolicyRequest,
  networkSpec,
  networkView,
} from "./wire.js";

const Ref = Type.Object({ ref: Type.String({ description: "ID or Name" }) });
const ListQuery = Type.Object({
  filter: Type.Optional(Type.String({ description: 'JSON object of fields to match, e.g. {"Name":"nat"}' })),
});
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 500: ErrorBody };

/** HNS's list filter: keep the objects whose top-level fields equal every field of the filter. */
function applyFilter<T extends object>(items: T[], filter: string | undefined): T[] {
  if (filter === undefined || filter === "") return items;
  let wanted: unknown;
  try {
    wanted = JSON.parse(filter);
  } catch {
    throw invalidArgument("filter", "is not valid JSON");
  }
  if (typeof wanted !== "object" || wanted === null || Array.isArray(wanted))
    throw invalidArgument("filter", "must be a JSON object");
  const entries = Object.entries(wanted);
  return items.filter((item) =>
    entries.every(([k, v]) => JSON.stringify((item as Record<string, unknown>)[k]) === JSON.stringify(v)),
  );
}

export function registerRoutes(app: FastifyInstance, service: HostnetService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const epView = (e: Parameters<typeof endpointView>[0]): Endpoint =>
    endpointView(e, service.network(e.networkId));

  r.get(
    "/networks",
    { schema: { querystring: ListQuery, response: { 200: Type.Array(Network), ...errors } } },
    (req) => applyFilter(service.networks().map(networkView), req.query.filter),
  );
  r.post(
    "/networks",
    { schema: { body: NetworkRequest, response: { 201: Network, ...errors } } },
    async (req, reply) =>
      reply.code(201).send(networkView(await service.createNetwork(networkSpec(req.body)))),
  );
  r.get("/networks/:ref", { schema: { params: Ref, response: { 200: Network, ...errors } } }, (req) =>
    networkView(service.network(req.params.ref)),
  );
  r.post(
    "/networks/:ref/policies",
    { schema: { params: Ref, body: PolicyRequest, response: { 200: Network, ...errors } } },
    async (req) =>
      networkView(await service.modifyNetworkPolicies(req.params.ref, networkPolicyRequest(req.body))),
  );
  r.delete(
    "/networks/:ref",
    {
      schema: {
        params: Ref,
        querystring: Type.Object({
          force: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false")])),
        }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      await service.deleteNetwork(req.params.ref, { force: req.query.force === "true" });
      return reply.code(204).send(null);
    },
  );

  r.get(
    "/endpoints",
    {
      schema: {
        querystring: Type.Object({ ...ListQuery.properties, network: Type.Optional(Type.String()) }),
        response: { 200: Type.Array(Endpoint), ...errors },
      },
    },
    (req) => {
      const filter = req.query.network === undefined ? {} : { network: req.query.network };
      return applyFilter(service.endpoints(filter).map(epView), req.query.filter);
    },
  );
  r.post(
    "/endpoints",
    { schema: { body: EndpointRequest, response: { 201: Endpoint, ...errors } } },
    async (req, reply) => reply.code(201).send(epView(await service.createEndpoint(endpointSpec(req.body)))),
  );
  r.get("/endpoints/:ref", { schema: { params: Ref, response: { 200: Endpoint, ...errors } } }, (req) =>
    epView(service.endpoint(req.params.ref)),
  );
  r.delete(
    "/endpoints/:ref",
    { schema: { params: Ref, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      await service.deleteEndpoint(req.params.ref);
      return reply.code(204).send(null);
    },
  );
  r.post(
    "/endpoints/:ref/attach",
    { schema: { params: Ref, body: AttachRequest, response: { 200: Endpoint, ...errors } } },
    async (req) => epView(await service.attachEndpoint(req.params.ref, attachSpec(req.body))),
  );
  r.get(
    "/endpoints/:ref/policies",
    { schema: { params: Ref, response: { 200: PolicyList, ...errors } } },
    async (req) => ({
      Policies: (await service.policyCounters(req.params.ref)).map(({ policy, counter }) => ({
        ...policyView(policy),
        ...(counter === null ? {} : { Counters: { Packets: counter.packets, Bytes: counter.bytes } }),
      })),
    }),
  );
  // HNS serves the statistics at /endpointstats/{id}; hostnet under the endpoint too.
  for (const path of ["/endpoints/:ref/stats", "/endpointstats/:ref"])
    r.get(path, { schema: { params: Ref, response: { 200: EndpointStats, ...errors } } }, async (req) =>
      endpointStatsView(await service.endpointStats(req.params.ref)),
    );
  r.post(
    "/endpoints/:ref/policies",
    { schema: { params: Ref, body: PolicyRequest, response: { 200: Endpoint, ...errors } } },
    async (req) => epView(await service.modifyPolicies(req.params.ref, policyRequest(req.body))),
  );
  r.post(
    "/endpoints/:ref/detach",
    { schema: { params: Ref, response: { 200: Endpoint, ...errors } } },
    async (req) => epView(await service.detachEndpoint(req.params.ref)),
  );

  const nsView = (ns: Parameters<typeof namespaceView>[0]): Namespace =>
    namespaceView(ns, service.endpoints({ namespace: ns.id }));
  r.get(
    "/namespaces",
    { schema: { querystring: ListQuery, response: { 200: Type.Array(Namespace), ...errors } } },
    (req) => applyFilter(service.namespaces().map(nsView), req.query.filter),
  );
  r.post(
    "/namespaces",
    { schema: { body: NamespaceRequest, response: { 201: Namespace, ...errors } } },
    async (req, reply) =>
      reply.code(201).send(nsView(await service.createNamespace(namespaceSpec(req.body)))),
  );
  r.get("/namespaces/:ref", { schema: { params: Ref, response: { 200: Namespace, ...errors } } }, (req) =>
    nsView(service.namespace(req.params.ref)),
  );
  r.delete(
    "/namespaces/:ref",
    { schema: { params: Ref, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      await service.deleteNamespace(req.params.ref);
      return reply.code(204).send(null);
    },
  );

  r.get("/plan", { schema: { response: { 200: Plan, ...errors } } }, async () => ({
    Operations: (await service.plan()).map((op) => ({
      Action: op.action,
      Kind: op.kind,
      Object: op.description,
      ...(op.heldBack === undefined ? {} : { HeldBack: op.heldBack }),
      ...(op.lastError === undefined ? {} : { LastError: op.lastError }),
    })),
  }));
}
