/**
 * The HNS-shaped JSON of hostnet's REST API (field names follow HNS v2) and its conversion to and from
 * the service's types. One TypeBox definition gives validation, the static type and /openapi.json; the
 * client and the CLI import the static types (`import type` only: they load none of the server).
 */
import { Type, type Static } from "typebox";
import type {
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest as ServicePolicyRequest,
  SubnetSpec,
} from "../../core/service.js";
import type { NetworkPolicy } from "../../policies/index.js";
import { parseEndpointPolicies, parseNetworkPolicies, parsePolicies } from "../../policies/parse.js";
import { endpointPolicyViews, networkPolicyViews } from "../../policies/view.js";
import { endpointHostInterface, networkBridge } from "../../core/kernel-names.js";
import type { EndpointTraffic } from "../../metrics/metrics.js";
import { overlayBridgeMac } from "../../model/overlay.js";
import {
  networkTypes,
  type DnsSettings,
  type Endpoint,
  type Namespace,
  type Network,
} from "../../model/types.js";
import { dnsLimits, type DnsSpec } from "../../dns/settings.js";
import { limits } from "../../model/limits.js";
import { gatewayPriorities } from "../../model/gateway.js";
import { closedObject } from "./closed.js";
import { invalidArgument } from "../../errors.js";

const SchemaVersion = Type.Object({ Major: Type.Integer(), Minor: Type.Integer() });
type SchemaVersion = Static<typeof SchemaVersion>;
const route = {
  NextHop: Type.String({ description: "Gateway address" }),
  DestinationPrefix: Type.Optional(Type.String({ description: "0.0.0.0/0 or ::/0 for the gateway" })),
};
const Route = Type.Object(route);
const subnet = { IpAddressPrefix: Type.String({ description: "CIDR, e.g. 172.20.0.0/16 or fd20::/64" }) };
const Subnet = Type.Object({ ...subnet, Routes: Type.Optional(Type.Array(Route)) });
export type Subnet = Static<typeof Subnet>;
const ipamType = Type.Optional(
  Type.Union([Type.Literal("Static"), Type.Literal("DHCP")], {
    description: "DHCP: endpoints lease their IPv4 address from the LAN (Transparent networks)",
  }),
);
const Ipam = Type.Object({ Type: ipamType, Subnets: Type.Array(Subnet) });
const IpamRequest = closedObject({
  Type: ipamType,
  Subnets: Type.Array(
    closedObject(
      {
        ...subnet,
        Routes: Type.Optional(
          Type.Array(closedObject(route, { ignoring: "Route" }), { maxItems: limits.routes }),
        ),
      },
      { ignoring: "Subnet" },
    ),
    { maxItems: 2, description: "One IPv4 subnet, one IPv6 subnet or both" },
  ),
});

const dnsNames = (description: string, maxItems: number) =>
  Type.Optional(Type.Array(Type.String(), { maxItems, description }));
/** HNS's Dns of a network or an endpoint; an endpoint's parts override its network's. */
const dnsFields = {
  Domain: Type.Optional(Type.String({ description: "The domain of `search` when Search is empty" })),
  Search: dnsNames("Search domains", dnsLimits.search),
  ServerList: dnsNames(
    "Nameservers: where the network's resolver forwards, or what resolv.conf names without one",
    dnsLimits.servers,
  ),
  Options: dnsNames("resolv.conf options such as ndots:2", dnsLimits.options),
};
const DnsRequest = closedObject(dnsFields);
const Dns = Type.Object({
  Domain: Type.Optional(Type.String()),
  Search: Type.Array(Type.String()),
  ServerList: Type.Array(Type.String()),
  Options: Type.Array(Type.String()),
});

const Policy = closedObject({
  Type: Type.String(),
  Settings: Type.Unknown({
    description: "As the Type's <Type>Settings schema under components.schemas says",
  }),
});
export type Policy = Static<typeof Policy>;

export const NetworkRequest = closedObject(
  {
    Name: Type.String(),
    Type: Type.Optional(
      Type.String({ description: `Network type: ${networkTypes.join(", ")}; NAT when absent` }),
    ),
    Ipams: Type.Optional(Type.Array(IpamRequest, { maxItems: 1 })),
    Mtu: Type.Optional(Type.Integer()),
    InterContainer: Type.Optional(
      Type.Boolean({
        description: "false stops endpoints of the network reaching each other (Docker's ICC)",
      }),
    ),
    Policies: Type.Optional(
      Type.Array(Policy, {
        maxItems: limits.policies,
        description:
          "ACL, QOS, OutBoundNAT and SDNRoute policies every endpoint of the network gets; NetAdapterName; for Overlay networks VSID, VxlanPort, EncapOverhead and RemoteSubnetRoute",
      }),
    ),
    Dns: Type.Optional(DnsRequest),
    DnsResolver: Type.Optional(
      Type.Boolean({
        description:
          "hostnet's resolver on the network's gateway addresses; on by default for NAT, Internal and Overlay networks",
      }),
    ),
  },
  { ignoring: "HostComputeNetwork" },
);
export type NetworkRequest = Static<typeof NetworkRequest>;

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
  Policies: Type.Array(Policy),
  Dns,
  DnsResolver: Type.Boolean(),
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
export type NetworkWire = Static<typeof NetworkWire>;

const IpConfiguration = closedObject({
  IpAddress: Type.String(),
  PrefixLength: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 128,
      description: "Its subnet's; 0 (HNS's unset) or absent for that",
    }),
  ),
});

/** HNS's EndpointFlags: RemoteEndpoint, an endpoint on another host. */
const REMOTE_ENDPOINT = 1;

export const EndpointRequest = closedObject(
  {
    Name: Type.Optional(
      Type.String({
        description: "Required, but for a remote endpoint, named <address>@<network> without one",
      }),
    ),
    HostComputeNetwork: Type.String({ description: "Network id or name" }),
    HostComputeNamespace: Type.Optional(Type.String({ description: "Namespace id or name to attach to" })),
    InterfaceName: Type.Optional(Type.String({ description: "Interface name in the namespace; eth0" })),
    IpConfigurations: Type.Optional(Type.Array(IpConfiguration, { maxItems: 2 })),
    MacAddress: Type.Optional(Type.String()),
    GwPriority: Type.Optional(
      Type.Integer({
        minimum: gatewayPriorities.min,
        maximum: gatewayPriorities.max,
        description:
          "Docker's gw-priority: of a namespace's endpoints, the highest holds its default route, the first attached among equals; 0",
      }),
    ),
    Policies: Type.Optional(Type.Array(Policy, { maxItems: limits.policies })),
    Dns: Type.Optional(DnsRequest),
    Aliases: dnsNames("More names the network's resolver answers for the endpoint", dnsLimits.aliases),
    Flags: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "1 (RemoteEndpoint): an endpoint on another host of a routed overlay, with a ProviderAddress policy; 0",
      }),
    ),
  },
  { ignoring: "HostComputeEndpoint" },
);
export type EndpointRequest = Static<typeof EndpointRequest>;

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
  GwPriority: Type.Integer(),
  Routes: Type.Array(Route),
  Policies: Type.Array(Policy),
  Dns,
  Aliases: Type.Array(Type.String()),
  Flags: Type.Integer({ description: "1 (RemoteEndpoint) for an endpoint on another host; 0" }),
  SchemaVersion,
});
export type EndpointWire = Static<typeof EndpointWire>;

export const PolicyRequest = closedObject(
  {
    RequestType: Type.Union([Type.Literal("Add"), Type.Literal("Remove"), Type.Literal("Update")]),
    Policies: Type.Array(Policy, { maxItems: limits.policies }),
  },
  { ignoring: "ModifySettingRequest" },
);
export type PolicyRequest = Static<typeof PolicyRequest>;

export function policyRequest(body: PolicyRequest): ServicePolicyRequest {
  return { requestType: body.RequestType, policies: parsePolicies(body.Policies, "endpoint") };
}

/** A network's modify request, which may also carry the network's own policies (RemoteSubnetRoute). */
export function networkPolicyRequest(body: PolicyRequest): ServicePolicyRequest<NetworkPolicy> {
  return { requestType: body.RequestType, policies: parsePolicies(body.Policies, "network") };
}

/** A policy as `GET /endpoints/{ref}/policies` lists it: ACLs with what their rules matched so far. */
const CountedPolicy = Type.Object({
  Type: Type.String(),
  Settings: Type.Unknown(),
  Counters: Type.Optional(
    Type.Object(
      { Packets: Type.Integer(), Bytes: Type.Integer() },
      { description: "what the ACL's rules matched" },
    ),
  ),
});
export type CountedPolicy = Static<typeof CountedPolicy>;

export const PolicyList = Type.Object({ Policies: Type.Array(CountedPolicy) });

/** HNS's endpoint statistics, from the endpoint's side: Received is what reached the container. */
export const EndpointStats = Type.Object({
  EndpointId: Type.String(),
  InstanceId: Type.String({ description: "HNS's VM instance; empty" }),
  BytesReceived: Type.Integer(),
  BytesSent: Type.Integer(),
  PacketsReceived: Type.Integer(),
  PacketsSent: Type.Integer(),
  DroppedPacketsIncoming: Type.Integer({ description: "dropped by the interface or an ACL on the way in" }),
  DroppedPacketsOutgoing: Type.Integer({ description: "dropped by the interface or an ACL on the way out" }),
});
export type EndpointStats = Static<typeof EndpointStats>;

export function endpointStatsView(t: EndpointTraffic & { id: string }): EndpointStats {
  const dropped = (direction: "in" | "out"): number =>
    t.dropped.filter((d) => d.direction === direction).reduce((sum, d) => sum + d.packets, 0);
  return {
    EndpointId: t.id,
    InstanceId: "",
    BytesReceived: t.receivedBytes,
    BytesSent: t.sentBytes,
    PacketsReceived: t.receivedPackets,
    PacketsSent: t.sentPackets,
    DroppedPacketsIncoming: dropped("in"),
    DroppedPacketsOutgoing: dropped("out"),
  };
}

const PlanOperation = Type.Object({
  Action: Type.String(),
  Kind: Type.String(),
  Object: Type.String(),
  HeldBack: Type.Optional(
    Type.String({ description: "Why a repair leaves it alone for now: it was repaired too often" }),
  ),
  LastError: Type.Optional(
    Type.String({
      description:
        "Why the last attempt to make it did not take (another program holds the resolver's address:53); the next converge of its owner and the periodic check try again",
    }),
  ),
});
/** What the next converge would change in the kernel (`GET /plan`). */
export const Plan = Type.Object({ Operations: Type.Array(PlanOperation) });
export type Plan = Static<typeof Plan>;

export const AttachRequest = closedObject({
  HostComputeNamespace: Type.String(),
  InterfaceName: Type.Optional(Type.String()),
});
export type AttachRequest = Static<typeof AttachRequest>;

export const NamespaceRequest = closedObject(
  {
    Name: Type.String(),
    Path: Type.Optional(Type.String({ description: "Adopt this existing netns instead of creating one" })),
  },
  { ignoring: "HostComputeNamespace" },
);
export type NamespaceRequest = Static<typeof NamespaceRequest>;

export const NamespaceWire = Type.Object({
  ID: Type.String(),
  Name: Type.String(),
  Path: Type.String(),
  Type: Type.Literal("Guest"),
  Owned: Type.Boolean({ description: "true when hostnet created the namespace and deletes it" }),
  Resources: Type.Array(Type.Object({ Type: Type.Literal("Endpoint"), Id: Type.String() })),
  SchemaVersion,
});
export type NamespaceWire = Static<typeof NamespaceWire>;

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

const schemaVersion = { Major: 2, Minor: 16 };

// Decoding: wire → service specs

export function networkSpec(body: NetworkRequest): NetworkSpec {
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
  const { policies, ...settings } = parseNetworkPolicies(body.Policies ?? []);
  const dhcp = body.Ipams?.[0]?.Type === "DHCP";
  return {
    name: body.Name,
    type: body.Type ?? "NAT",
    subnets,
    policies,
    ...settings,
    ...(dhcp ? { ipam: { value: "dhcp" as const, field: "Ipams[0].Type" } } : {}),
    ...(body.Mtu === undefined ? {} : { mtu: body.Mtu }),
    ...(body.InterContainer === undefined ? {} : { interContainer: body.InterContainer }),
    ...(body.Dns === undefined ? {} : { dns: dnsSpec(body.Dns, "Dns") }),
    ...(body.DnsResolver === undefined
      ? {}
      : { resolver: { value: body.DnsResolver, field: "DnsResolver" } }),
  };
}

function dnsSpec(body: Static<typeof DnsRequest>, field: string): DnsSpec {
  return {
    ...(body.Domain === undefined ? {} : { domain: { value: body.Domain, field: `${field}.Domain` } }),
    ...(body.Search === undefined ? {} : { search: { value: body.Search, field: `${field}.Search` } }),
    ...(body.ServerList === undefined
      ? {}
      : { servers: { value: body.ServerList, field: `${field}.ServerList` } }),
    ...(body.Options === undefined ? {} : { options: { value: body.Options, field: `${field}.Options` } }),
  };
}

/** HNS's Flags: RemoteEndpoint or none; hostnet has no other endpoint flag. */
function remoteOf(flags: number | undefined): EndpointSpec["remote"] {
  if (flags === undefined || flags === 0) return undefined;
  if (flags !== REMOTE_ENDPOINT)
    throw invalidArgument("Flags", `${flags} is not a flag hostnet has: 1 (RemoteEndpoint), or 0`);
  return { field: "Flags", addressesField: "IpConfigurations" };
}

export function endpointSpec(body: EndpointRequest): EndpointSpec {
  const remote = remoteOf(body.Flags);
  const { policies, portMappings, providerAddress } = parseEndpointPolicies(body.Policies ?? []);
  const ips = (body.IpConfigurations ?? []).map((c, i) => {
    const ip = { field: `IpConfigurations[${i}].IpAddress`, address: c.IpAddress };
    // hcsshim sends no PrefixLength of 0 (omitempty): 0 is Go's unset.
    return c.PrefixLength === undefined || c.PrefixLength === 0
      ? ip
      : { ...ip, prefixLength: { value: c.PrefixLength, field: `IpConfigurations[${i}].PrefixLength` } };
  });
  const spec: EndpointSpec = {
    ...(body.Name === undefined ? {} : { name: body.Name }),
    network: body.HostComputeNetwork,
    ips,
    portMappings,
    policies,
    ...(remote === undefined ? {} : { remote }),
    ...(providerAddress === undefined ? {} : { providerAddress }),
  };
  const withMac: EndpointSpec = {
    ...spec,
    ...(body.GwPriority === undefined
      ? {}
      : { gatewayPriority: { value: body.GwPriority, field: "GwPriority" } }),
    ...(body.MacAddress === undefined ? {} : { mac: body.MacAddress }),
    ...(body.Dns === undefined ? {} : { dns: dnsSpec(body.Dns, "Dns") }),
    ...(body.Aliases === undefined ? {} : { aliases: { value: body.Aliases, field: "Aliases" } }),
  };
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

export function namespaceSpec(body: NamespaceRequest): NamespaceSpec {
  return body.Path === undefined ? { name: body.Name } : { name: body.Name, path: body.Path };
}

// Encoding: service types → wire

const defaultRoute = (gateway: string): Static<typeof Route> => ({
  NextHop: gateway,
  DestinationPrefix: gateway.includes(":") ? "::/0" : "0.0.0.0/0",
});

export function networkView(n: Network): NetworkWire {
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
    Policies: networkPolicyViews(n),
    Dns: dnsView(n.dns),
    DnsResolver: n.resolver,
    Flags: 0,
    SchemaVersion: schemaVersion,
    CreatedAt: n.createdAt,
    ...(n.origin === null ? {} : { Origin: { Kind: n.origin.kind, Key: n.origin.key } }),
  };
}

const dnsView = (d: DnsSettings): Static<typeof Dns> => ({
  ...(d.domain === null ? {} : { Domain: d.domain }),
  Search: [...d.search],
  ServerList: [...d.servers],
  Options: [...d.options],
});

/** Each reason hostnet detaches an endpoint for, as the REST API names it. */
const detachedReasons = { "namespace vanished": "NamespaceVanished" } as const;

export function endpointView(e: Endpoint, net: Network): EndpointWire {
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
    GwPriority: e.gatewayPriority,
    Routes: net.subnets.map((s) => defaultRoute(s.gateway)),
    Policies: endpointPolicyViews(e),
    Dns: dnsView(e.dns),
    Aliases: [...e.aliases],
    Flags: e.remoteHost === null ? 0 : REMOTE_ENDPOINT,
    SchemaVersion: schemaVersion,
  };
}

export function namespaceView(ns: Namespace, endpoints: readonly Endpoint[]): NamespaceWire {
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
