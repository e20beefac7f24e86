/**
 * The HNS-shaped JSON of hostnet's REST API (field names follow HNS v2) and its conversion to and from
 * the service's types. One TypeBox definition gives validation, the static type and /openapi.json.
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../../errors.js";
import type {
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest as ServicePolicyRequest,
  PolicySpec,
  PortMappingSpec,
  SubnetSpec,
} from "../../core/service.js";
import {
  parseEndpointPolicy,
  parseNetworkPolicy,
  type NetworkPolicy,
  type PortRange,
} from "../../model/policy.js";
import { endpointHostInterface, networkBridge } from "../../core/kernel-names.js";
import { overlayBridgeMac } from "../../model/overlay.js";
import {
  networkTypes,
  type Endpoint,
  type Namespace,
  type Network,
  type Protocol,
} from "../../model/types.js";

const SchemaVersion = Type.Object({ Major: Type.Integer(), Minor: Type.Integer() });
const Route = Type.Object({
  NextHop: Type.String({ description: "Gateway address" }),
  DestinationPrefix: Type.Optional(Type.String({ description: "0.0.0.0/0 or ::/0 for the gateway" })),
});
const Subnet = Type.Object({
  IpAddressPrefix: Type.String({ description: "CIDR, e.g. 172.20.0.0/16 or fd20::/64" }),
  Routes: Type.Optional(Type.Array(Route)),
});
const Ipam = Type.Object({
  Type: Type.Optional(
    Type.Union([Type.Literal("Static"), Type.Literal("DHCP")], {
      description: "DHCP: endpoints lease their IPv4 address from the LAN (Transparent networks)",
    }),
  ),
  Subnets: Type.Array(Subnet),
});

export const NetworkRequest = Type.Object({
  Name: Type.String(),
  Type: Type.Optional(
    Type.String({ description: `Network type: ${networkTypes.join(", ")}; NAT when absent` }),
  ),
  Ipams: Type.Optional(Type.Array(Ipam, { maxItems: 1 })),
  Mtu: Type.Optional(Type.Integer()),
  InterContainer: Type.Optional(
    Type.Boolean({ description: "false stops endpoints of the network reaching each other (Docker's ICC)" }),
  ),
  Policies: Type.Optional(
    Type.Array(Type.Object({ Type: Type.String(), Settings: Type.Unknown() }), {
      description:
        "ACL, QOS, OutBoundNAT and SDNRoute policies every endpoint of the network gets; NetAdapterName; for Overlay networks VSID, VxlanPort, EncapOverhead and RemoteSubnetRoute",
    }),
  ),
});

export const NetworkWire = Type.Object({
  ID: Type.String(),
  Name: Type.String(),
  Type: Type.String(),
  Ipams: Type.Array(Ipam),
  Mtu: Type.Integer(),
  InterContainer: Type.Boolean(),
  Bridge: Type.String({ description: "The Linux bridge of this network" }),
  DrMacAddress: Type.Optional(
    Type.String({
      description:
        "Overlay networks: the MAC of this host's bridge, its router for the network, which other hosts' RemoteSubnetRoute policies name as DistributedRouterMacAddress",
    }),
  ),
  Policies: Type.Array(Type.Object({ Type: Type.String(), Settings: Type.Unknown() })),
  Flags: Type.Integer(),
  SchemaVersion,
  CreatedAt: Type.String(),
  Origin: Type.Optional(
    Type.Object(
      { Kind: Type.String(), Key: Type.String() },
      { description: "The client that made the network (docker: Docker's network id)" },
    ),
  ),
});

const Policy = Type.Object({ Type: Type.String(), Settings: Type.Unknown() });

const IpConfiguration = Type.Object({
  IpAddress: Type.String(),
  PrefixLength: Type.Optional(Type.Integer()),
});

export const EndpointRequest = Type.Object({
  Name: Type.String(),
  HostComputeNetwork: Type.String({ description: "Network id or name" }),
  HostComputeNamespace: Type.Optional(Type.String({ description: "Namespace id or name to attach to" })),
  InterfaceName: Type.Optional(Type.String({ description: "Interface name in the namespace; eth0" })),
  IpConfigurations: Type.Optional(Type.Array(IpConfiguration, { maxItems: 2 })),
  MacAddress: Type.Optional(Type.String()),
  Policies: Type.Optional(Type.Array(Policy)),
});

export const EndpointWire = Type.Object({
  ID: Type.String(),
  Name: Type.String(),
  HostComputeNetwork: Type.String(),
  HostComputeNamespace: Type.Union([Type.String(), Type.Null()]),
  InterfaceName: Type.Union([Type.String(), Type.Null()]),
  HostInterfaceName: Type.String({ description: "The host end of the endpoint's veth" }),
  Sandbox: Type.Optional(
    Type.String({ description: "Where a runtime that configures the interface itself put it (Docker)" }),
  ),
  DetachedReason: Type.Optional(
    Type.Literal("NamespaceVanished", {
      description: "Why hostnet detached the endpoint by itself: its namespace was deleted under it",
    }),
  ),
  IpConfigurations: Type.Array(IpConfiguration),
  MacAddress: Type.String(),
  Routes: Type.Array(Route),
  Policies: Type.Array(Policy),
  Flags: Type.Integer(),
  SchemaVersion,
});

export const PolicyRequest = Type.Object({
  RequestType: Type.Union([Type.Literal("Add"), Type.Literal("Remove"), Type.Literal("Update")]),
  Policies: Type.Array(Policy),
});

/** Policies, each with the field it came from; `handledElsewhere` types are the caller's. */
function policySpecs<P extends NetworkPolicy>(
  policies: readonly Static<typeof Policy>[],
  parse: (field: string, type: string, settings: unknown) => P,
  handledElsewhere: readonly string[] = [],
): PolicySpec<P>[] {
  return policies.flatMap((p, i) =>
    handledElsewhere.includes(p.Type)
      ? []
      : [{ field: `Policies[${i}].Settings`, policy: parse(`Policies[${i}]`, p.Type, p.Settings) }],
  );
}

/** HNS's network policy naming the uplink NIC; the other policies of a network are its endpoints'. */
const NET_ADAPTER_NAME = "NetAdapterName";

function adapterSpec(policies: readonly Static<typeof Policy>[]): NetworkSpec["adapter"] {
  const i = policies.findIndex((p) => p.Type === NET_ADAPTER_NAME);
  const policy = policies[i];
  if (policy === undefined) return undefined;
  const field = `Policies[${i}].Settings.NetworkAdapterName`;
  const settings = policy.Settings as { NetworkAdapterName?: unknown } | null | undefined;
  const name = settings?.NetworkAdapterName;
  if (typeof name !== "string" || name === "") throw invalidArgument(field, "must name the uplink NIC");
  if (policies.some((p, j) => j > i && p.Type === NET_ADAPTER_NAME))
    throw invalidArgument(`Policies[${i}]`, "a network has at most one NetAdapterName policy");
  return { name, field };
}

/**
 * HNS's overlay network policies: the VXLAN network identifier (VSID), UDP port (VxlanPort), and the bytes
 * the encapsulation takes from the underlay's MTU (EncapOverhead).
 */
const VSID = "VSID";
const VXLAN_PORT = "VxlanPort";
const ENCAP_OVERHEAD = "EncapOverhead";

function overlaySpec(policies: readonly Static<typeof Policy>[]): NetworkSpec["overlay"] {
  const number = (type: string, key: string): { value: number; field: string } | undefined => {
    const i = policies.findIndex((p) => p.Type === type);
    const settings = policies[i]?.Settings as Record<string, unknown> | null | undefined;
    if (i < 0) return undefined;
    const value = settings?.[key];
    const field = `Policies[${i}].Settings.${key}`;
    if (typeof value !== "number" || !Number.isInteger(value))
      throw invalidArgument(field, "must be an integer");
    return { value, field };
  };
  const vni = number(VSID, "IsolationId");
  const port = number(VXLAN_PORT, "Port");
  const overhead = number(ENCAP_OVERHEAD, "Overhead");
  if (vni === undefined && port === undefined && overhead === undefined) return undefined;
  return {
    ...(vni === undefined ? {} : { vni }),
    ...(port === undefined ? {} : { port }),
    ...(overhead === undefined ? {} : { overhead }),
  };
}

export function policyRequest(body: Static<typeof PolicyRequest>): ServicePolicyRequest {
  return { requestType: body.RequestType, policies: policySpecs(body.Policies, parseEndpointPolicy) };
}

/** A network's modify request, which may also carry the network's own policies (RemoteSubnetRoute). */
export function networkPolicyRequest(
  body: Static<typeof PolicyRequest>,
): ServicePolicyRequest<NetworkPolicy> {
  return { requestType: body.RequestType, policies: policySpecs(body.Policies, parseNetworkPolicy) };
}

const rangesText = (ranges: readonly PortRange[]): string =>
  ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(",");

export const PolicyList = Type.Object({
  Policies: Type.Array(
    Type.Object({
      Type: Type.String(),
      Settings: Type.Unknown(),
      Counters: Type.Optional(
        Type.Object(
          { Packets: Type.Integer(), Bytes: Type.Integer() },
          { description: "what the ACL's rules matched" },
        ),
      ),
    }),
  ),
});

export function policyView(p: NetworkPolicy): Static<typeof Policy> {
  switch (p.type) {
    case "RemoteSubnetRoute":
      return {
        Type: p.type,
        Settings: {
          DestinationPrefix: p.destinationPrefix,
          IsolationId: p.isolationId,
          ProviderAddress: p.providerAddress,
          DistributedRouterMacAddress: p.drMac,
        },
      };
    case "ACL":
      return {
        Type: p.type,
        Settings: {
          Action: p.action,
          Direction: p.direction,
          Protocols: p.protocols.join(","),
          LocalAddresses: p.localAddresses.join(","),
          RemoteAddresses: p.remoteAddresses.join(","),
          LocalPorts: rangesText(p.localPorts),
          RemotePorts: rangesText(p.remotePorts),
          Priority: p.priority,
        },
      };
    case "SDNRoute":
      return { Type: p.type, Settings: { DestinationPrefix: p.destinationPrefix, NextHop: p.nextHop } };
    case "OutBoundNAT":
      return {
        Type: p.type,
        Settings: {
          ...(p.virtualIp === null ? {} : { VirtualIP: p.virtualIp }),
          Exceptions: [...p.exceptions],
        },
      };
    case "QOS":
      return {
        Type: p.type,
        Settings: {
          ...(p.maxOutgoingBytesPerSecond === null
            ? {}
            : { MaximumOutgoingBandwidthInBytes: p.maxOutgoingBytesPerSecond }),
          ...(p.maxIncomingBytesPerSecond === null
            ? {}
            : { MaximumIncomingBandwidthInBytes: p.maxIncomingBytesPerSecond }),
        },
      };
  }
}

export const AttachRequest = Type.Object({
  HostComputeNamespace: Type.String(),
  InterfaceName: Type.Optional(Type.String()),
});

export const NamespaceRequest = Type.Object({
  Name: Type.String(),
  Path: Type.Optional(Type.String({ description: "Adopt this existing netns instead of creating one" })),
});

export const NamespaceWire = Type.Object({
  ID: Type.String(),
  Name: Type.String(),
  Path: Type.String(),
  Type: Type.Literal("Guest"),
  Owned: Type.Boolean({ description: "true when hostnet created the namespace and deletes it" }),
  Resources: Type.Array(Type.Object({ Type: Type.Literal("Endpoint"), Id: Type.String() })),
  SchemaVersion,
});

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
});

const schemaVersion = { Major: 2, Minor: 16 };

// Decoding: wire → service specs

export function networkSpec(body: Static<typeof NetworkRequest>): NetworkSpec {
  const subnets: SubnetSpec[] = (body.Ipams?.[0]?.Subnets ?? []).map((s, i) => {
    const field = `Ipams[0].Subnets[${i}]`;
    const routeIndex = (s.Routes ?? []).findIndex(
      (r) =>
        r.DestinationPrefix === undefined ||
        r.DestinationPrefix === "0.0.0.0/0" ||
        r.DestinationPrefix === "::/0",
    );
    const gateway = routeIndex < 0 ? undefined : s.Routes?.[routeIndex]?.NextHop;
    const base = {
      prefix: s.IpAddressPrefix,
      prefixField: `${field}.IpAddressPrefix`,
      gatewayField: `${field}.Routes[${Math.max(routeIndex, 0)}].NextHop`,
    };
    return gateway === undefined ? base : { ...base, gateway };
  });
  const adapter = adapterSpec(body.Policies ?? []);
  const overlay = overlaySpec(body.Policies ?? []);
  const dhcp = body.Ipams?.[0]?.Type === "DHCP";
  return {
    name: body.Name,
    type: body.Type ?? "NAT",
    subnets,
    policies: policySpecs(body.Policies ?? [], parseNetworkPolicy, [
      NET_ADAPTER_NAME,
      VSID,
      VXLAN_PORT,
      ENCAP_OVERHEAD,
    ]),
    ...(adapter === undefined ? {} : { adapter }),
    ...(overlay === undefined ? {} : { overlay }),
    ...(dhcp ? { ipam: { value: "dhcp" as const, field: "Ipams[0].Type" } } : {}),
    ...(body.Mtu === undefined ? {} : { mtu: body.Mtu }),
    ...(body.InterContainer === undefined ? {} : { interContainer: body.InterContainer }),
  };
}

export function protocolOf(field: string, p: number | string): Protocol {
  const text = String(p).toLowerCase();
  if (text === "6" || text === "tcp") return "tcp";
  if (text === "17" || text === "udp") return "udp";
  throw invalidArgument(field, `protocol ${String(p)} is not supported (6/TCP or 17/UDP)`);
}

function portMappingSpec(field: string, settings: unknown): PortMappingSpec {
  if (typeof settings !== "object" || settings === null)
    throw invalidArgument(`${field}.Settings`, "must be an object");
  const s = settings as Record<string, unknown>;
  const int = (key: string): number => {
    const v = s[key];
    if (typeof v !== "number") throw invalidArgument(`${field}.Settings.${key}`, "must be an integer");
    return v;
  };
  const protocol = s["Protocol"];
  if (typeof protocol !== "number" && typeof protocol !== "string")
    throw invalidArgument(`${field}.Settings.Protocol`, "must be 6, 17, TCP or UDP");
  const vip = s["VIP"];
  if (vip !== undefined && typeof vip !== "string")
    throw invalidArgument(`${field}.Settings.VIP`, "must be a string");
  const spec = {
    field: `${field}.Settings`,
    protocol: protocolOf(`${field}.Settings.Protocol`, protocol),
    hostPort: int("ExternalPort"),
    internalPort: int("InternalPort"),
  };
  return vip === undefined || vip === "" ? spec : { ...spec, hostIp: vip };
}

export function endpointSpec(body: Static<typeof EndpointRequest>): EndpointSpec {
  const portMappings: PortMappingSpec[] = [];
  const policies: PolicySpec[] = [];
  (body.Policies ?? []).forEach((p, i) => {
    if (p.Type === "PortMapping") portMappings.push(portMappingSpec(`Policies[${i}]`, p.Settings));
    else
      policies.push({
        field: `Policies[${i}].Settings`,
        policy: parseEndpointPolicy(`Policies[${i}]`, p.Type, p.Settings),
      });
  });
  const ips = (body.IpConfigurations ?? []).map((c, i) => ({
    field: `IpConfigurations[${i}].IpAddress`,
    address: c.IpAddress,
  }));
  const spec: EndpointSpec = {
    name: body.Name,
    network: body.HostComputeNetwork,
    ips,
    portMappings,
    policies,
  };
  const withMac = body.MacAddress === undefined ? spec : { ...spec, mac: body.MacAddress };
  if (body.HostComputeNamespace === undefined) return withMac;
  return { ...withMac, attach: attachSpec({ ...body, HostComputeNamespace: body.HostComputeNamespace }) };
}

export function attachSpec(body: { HostComputeNamespace: string; InterfaceName?: string }): {
  namespace: string;
  ifname?: string;
} {
  const spec = { namespace: body.HostComputeNamespace };
  return body.InterfaceName === undefined ? spec : { ...spec, ifname: body.InterfaceName };
}

export function namespaceSpec(body: Static<typeof NamespaceRequest>): NamespaceSpec {
  return body.Path === undefined ? { name: body.Name } : { name: body.Name, path: body.Path };
}

// Encoding: service types → wire

const defaultRoute = (gateway: string): Static<typeof Route> => ({
  NextHop: gateway,
  DestinationPrefix: gateway.includes(":") ? "::/0" : "0.0.0.0/0",
});

export function networkView(n: Network): Static<typeof NetworkWire> {
  return {
    ID: n.id,
    Name: n.name,
    Type: n.type,
    Ipams: [
      {
        Type: n.ipam === "dhcp" ? "DHCP" : "Static",
        Subnets: n.subnets.map((s) => ({ IpAddressPrefix: s.prefix, Routes: [defaultRoute(s.gateway)] })),
      },
    ],
    Mtu: n.mtu,
    InterContainer: n.interContainer,
    Bridge: networkBridge(n),
    ...(n.overlay === null ? {} : { DrMacAddress: overlayBridgeMac(n.overlay.localAddress) }),
    Policies: [
      ...(n.adapter === null
        ? []
        : [{ Type: NET_ADAPTER_NAME, Settings: { NetworkAdapterName: n.adapter } }]),
      // As HNS shows them: a client adding a RemoteSubnetRoute reads its IsolationId here.
      ...(n.overlay === null
        ? []
        : [
            { Type: VSID, Settings: { IsolationId: n.overlay.vni } },
            { Type: VXLAN_PORT, Settings: { Port: n.overlay.vxlanPort } },
          ]),
      ...n.policies.map(policyView),
    ],
    Flags: 0,
    SchemaVersion: schemaVersion,
    CreatedAt: n.createdAt,
    ...(n.origin === null ? {} : { Origin: { Kind: n.origin.kind, Key: n.origin.key } }),
  };
}

/** Each reason hostnet detaches an endpoint for, as the REST API names it. */
const detachedReasons = { "namespace vanished": "NamespaceVanished" } as const;

export function endpointView(e: Endpoint, net: Network): Static<typeof EndpointWire> {
  return {
    ID: e.id,
    Name: e.name,
    HostComputeNetwork: e.networkId,
    HostComputeNamespace: e.attachment?.kind === "namespace" ? e.attachment.namespaceId : null,
    InterfaceName: e.attachment?.kind === "namespace" ? e.attachment.ifname : null,
    HostInterfaceName: endpointHostInterface(e),
    ...(e.attachment?.kind === "handoff" ? { Sandbox: e.attachment.sandbox } : {}),
    ...(e.detachedReason === undefined ? {} : { DetachedReason: detachedReasons[e.detachedReason] }),
    IpConfigurations: e.addresses.map((a) => ({ IpAddress: a.address, PrefixLength: a.prefixLength })),
    MacAddress: e.mac,
    Routes: net.subnets.map((s) => defaultRoute(s.gateway)),
    Policies: [
      ...e.portMappings.map((m) => ({
        Type: "PortMapping",
        Settings: {
          Protocol: m.protocol === "tcp" ? 6 : 17,
          InternalPort: m.internalPort,
          ExternalPort: m.hostPort,
          ...(m.hostIp === null ? {} : { VIP: m.hostIp }),
        },
      })),
      ...e.policies.map(policyView),
    ],
    Flags: 0,
    SchemaVersion: schemaVersion,
  };
}

export function namespaceView(ns: Namespace, endpoints: readonly Endpoint[]): Static<typeof NamespaceWire> {
  return {
    ID: ns.id,
    Name: ns.name,
    Path: ns.path,
    Type: "Guest",
    Owned: ns.owned,
    Resources: endpoints.map((e) => ({ Type: "Endpoint", Id: e.id })),
    SchemaVersion: schemaVersion,
  };
}
