/**
 * Endpoint policies in hostnet's own terms, parsed and checked from HNS's `{Type, Settings}` documents.
 * Each policy type is one member of the union.
 */
import { overlayBridgeMac } from "./overlay.js";
import { invalidArgument } from "../errors.js";
import { cidrOf, parseIp, parsePrefix, type Family } from "./ip.js";

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface AclPolicy {
  readonly type: "ACL";
  readonly action: "Allow" | "Block";
  /** From the endpoint's point of view: In is traffic arriving at the endpoint. */
  readonly direction: "In" | "Out";
  /** IP protocol numbers; empty means any. */
  readonly protocols: readonly number[];
  readonly localAddresses: readonly string[];
  readonly remoteAddresses: readonly string[];
  readonly localPorts: readonly PortRange[];
  readonly remotePorts: readonly PortRange[];
  /** Lower numbers are evaluated first; the first rule that matches decides. */
  readonly priority: number;
}

/** A route inside the endpoint's namespace (HNS SDNRoute). */
export interface SdnRoutePolicy {
  readonly type: "SDNRoute";
  readonly destinationPrefix: string;
  readonly nextHop: string;
}

/** Bandwidth limits in bytes per second (HNS QOS, plus hostnet's limit for traffic to the endpoint). */
export interface QosPolicy {
  readonly type: "QOS";
  /** Traffic the endpoint sends. */
  readonly maxOutgoingBytesPerSecond: number | null;
  /** Traffic the endpoint receives. */
  readonly maxIncomingBytesPerSecond: number | null;
}

/** Outbound NAT (HNS OutBoundNAT): SNAT to a chosen address, and destinations that are not NATed at all. */
export interface OutboundNatPolicy {
  readonly type: "OutBoundNAT";
  /** The source address to use instead of masquerading; null keeps masquerade. */
  readonly virtualIp: string | null;
  readonly exceptions: readonly string[];
}

export type EndpointPolicy = AclPolicy | SdnRoutePolicy | QosPolicy | OutboundNatPolicy;

/**
 * A subnet another host of a routed overlay owns (HNS RemoteSubnetRoute, Kubernetes' win-overlay): routed
 * through the VXLAN to that host's router, its overlay bridge.
 */
export interface RemoteSubnetRoutePolicy {
  readonly type: "RemoteSubnetRoute";
  readonly destinationPrefix: string;
  /** The VXLAN network identifier, which must be the network's own. */
  readonly isolationId: number;
  /** The remote host's underlay address, where VXLAN packets for the subnet go. */
  readonly providerAddress: string;
  /** The MAC of the remote host's overlay bridge (its `DrMacAddress`). */
  readonly drMac: string;
}

/** A network's policies: those every endpoint of it gets, and the network's own. */
export type NetworkPolicy = EndpointPolicy | RemoteSubnetRoutePolicy;

/** Policy types a network or an endpoint has at most one of. */
export const singletonPolicies = ["QOS", "OutBoundNAT"] as const;

/**
 * The policies in force on an endpoint: its own, then its network's, except a network QOS or OutBoundNAT
 * the endpoint has its own of. ACLs of both apply together (see modes/acl.ts for their order).
 */
export function effectivePolicies(
  own: readonly EndpointPolicy[],
  network: readonly NetworkPolicy[],
): EndpointPolicy[] {
  const overridden = (p: EndpointPolicy): boolean =>
    (singletonPolicies as readonly string[]).includes(p.type) && own.some((o) => o.type === p.type);
  return [...own, ...endpointPoliciesOf(network).filter((p) => !overridden(p))];
}

/** The policies of a network that apply to its endpoints. */
export const endpointPoliciesOf = (policies: readonly NetworkPolicy[]): EndpointPolicy[] =>
  policies.filter((p): p is EndpointPolicy => p.type !== "RemoteSubnetRoute");

/** Below this, a token bucket cannot pass one full-size packet per tick: refuse rather than stall. */
export const QOS_MIN_BYTES_PER_SECOND = 1000;

export const ACL_PRIORITY_MAX = 65500;
const PROTOCOL_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };

function list(field: string, value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (typeof value === "number") return [String(value)];
  if (typeof value === "string") return value.split(",").map((v) => v.trim());
  if (Array.isArray(value)) return value.map((v) => String(v).trim());
  throw invalidArgument(field, "must be a comma-separated list");
}

function protocols(field: string, value: unknown): number[] {
  return list(field, value).map((p) => {
    const n = PROTOCOL_NAMES[p.toLowerCase()] ?? (/^\d+$/.test(p) ? Number(p) : NaN);
    if (!Number.isInteger(n) || n < 0 || n > 255)
      throw invalidArgument(field, `"${p}" is not an IP protocol`);
    return n;
  });
}

function addresses(field: string, value: unknown): string[] {
  return list(field, value).map((a) =>
    a.includes("/") ? cidrOf(parsePrefix(field, a)) : parseIp(field, a).address,
  );
}

function ports(field: string, value: unknown): PortRange[] {
  return list(field, value).map((p) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (m === null || from < 1 || to > 65535)
      throw invalidArgument(field, `"${p}" is not a port or port range (1-65535)`);
    if (from > to) throw invalidArgument(field, `port range "${p}" is reversed`);
    return { from, to };
  });
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  const found = allowed.find((a) => typeof value === "string" && a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw invalidArgument(field, `must be one of ${allowed.join(", ")}`);
  return found;
}

export function parseAcl(field: string, settings: unknown): AclPolicy {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  const s = settings as Record<string, unknown>;
  const priority = s["Priority"] ?? 100;
  if (
    typeof priority !== "number" ||
    !Number.isInteger(priority) ||
    priority < 1 ||
    priority > ACL_PRIORITY_MAX
  )
    throw invalidArgument(`${field}.Priority`, `must be an integer from 1 to ${ACL_PRIORITY_MAX}`);
  const acl: AclPolicy = {
    type: "ACL",
    action: oneOf(`${field}.Action`, s["Action"], ["Allow", "Block"] as const),
    direction: oneOf(`${field}.Direction`, s["Direction"], ["In", "Out"] as const),
    protocols: protocols(`${field}.Protocols`, s["Protocols"]),
    localAddresses: addresses(`${field}.LocalAddresses`, s["LocalAddresses"]),
    remoteAddresses: addresses(`${field}.RemoteAddresses`, s["RemoteAddresses"]),
    localPorts: ports(`${field}.LocalPorts`, s["LocalPorts"]),
    remotePorts: ports(`${field}.RemotePorts`, s["RemotePorts"]),
    priority,
  };
  const hasPorts = acl.localPorts.length > 0 || acl.remotePorts.length > 0;
  if (hasPorts && !acl.protocols.every((p) => p === 6 || p === 17))
    throw invalidArgument(`${field}.Protocols`, "ports need the protocols to be TCP (6) and/or UDP (17)");
  return acl;
}

export function parseSdnRoute(field: string, settings: unknown): SdnRoutePolicy {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  const s = settings as Record<string, unknown>;
  const text = (key: string): string => {
    const v = s[key];
    if (typeof v !== "string") throw invalidArgument(`${field}.${key}`, "is required");
    return v;
  };
  const destination = parsePrefix(`${field}.DestinationPrefix`, text("DestinationPrefix"));
  const nextHop = parseIp(`${field}.NextHop`, text("NextHop"));
  if (nextHop.family !== destination.family)
    throw invalidArgument(`${field}.NextHop`, `${nextHop.address} is not of the destination's family`);
  return { type: "SDNRoute", destinationPrefix: cidrOf(destination), nextHop: nextHop.address };
}

export function parseQos(field: string, settings: unknown): QosPolicy {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  const s = settings as Record<string, unknown>;
  const rate = (key: string): number | null => {
    const v = s[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < QOS_MIN_BYTES_PER_SECOND)
      throw invalidArgument(
        `${field}.${key}`,
        `must be an integer of at least ${QOS_MIN_BYTES_PER_SECOND} (bytes per second)`,
      );
    return v;
  };
  const qos: QosPolicy = {
    type: "QOS",
    maxOutgoingBytesPerSecond: rate("MaximumOutgoingBandwidthInBytes"),
    maxIncomingBytesPerSecond: rate("MaximumIncomingBandwidthInBytes"),
  };
  if (qos.maxOutgoingBytesPerSecond === null && qos.maxIncomingBytesPerSecond === null)
    throw invalidArgument(field, "needs MaximumOutgoingBandwidthInBytes or MaximumIncomingBandwidthInBytes");
  return qos;
}

export function parseOutboundNat(field: string, settings: unknown): OutboundNatPolicy {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  const s = settings as Record<string, unknown>;
  const vip = s["VirtualIP"];
  if (vip !== undefined && vip !== null && typeof vip !== "string")
    throw invalidArgument(`${field}.VirtualIP`, "must be an IP address");
  const exceptions = s["Exceptions"] ?? [];
  if (!Array.isArray(exceptions)) throw invalidArgument(`${field}.Exceptions`, "must be a list of prefixes");
  return {
    type: "OutBoundNAT",
    virtualIp:
      vip === undefined || vip === null || vip === "" ? null : parseIp(`${field}.VirtualIP`, vip).address,
    exceptions: exceptions.map((e, i) => {
      const f = `${field}.Exceptions[${i}]`;
      if (typeof e !== "string") throw invalidArgument(f, "must be a prefix");
      return cidrOf(parsePrefix(f, e.includes("/") ? e : `${e}/${e.includes(":") ? 128 : 32}`));
    }),
  };
}

export function parseEndpointPolicy(field: string, type: string, settings: unknown): EndpointPolicy {
  if (type === "ACL") return parseAcl(`${field}.Settings`, settings);
  if (type === "SDNRoute") return parseSdnRoute(`${field}.Settings`, settings);
  if (type === "QOS") return parseQos(`${field}.Settings`, settings);
  if (type === "OutBoundNAT") return parseOutboundNat(`${field}.Settings`, settings);
  throw invalidArgument(
    `${field}.Type`,
    `policy type "${type}" is not supported (ACL, QOS, OutBoundNAT, SDNRoute, PortMapping)`,
  );
}

export function parseRemoteSubnetRoute(field: string, settings: unknown): RemoteSubnetRoutePolicy {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  const s = settings as Record<string, unknown>;
  const text = (key: string): string => {
    const v = s[key];
    if (typeof v !== "string" || v === "") throw invalidArgument(`${field}.${key}`, "is required");
    return v;
  };
  const destination = parsePrefix(`${field}.DestinationPrefix`, text("DestinationPrefix"));
  if (destination.family !== 4)
    throw invalidArgument(`${field}.DestinationPrefix`, "must be an IPv4 prefix: overlay subnets are IPv4");
  const isolationId = s["IsolationId"];
  if (typeof isolationId !== "number" || !Number.isInteger(isolationId))
    throw invalidArgument(`${field}.IsolationId`, "must be an integer, the network's VSID");
  const provider = parseIp(`${field}.ProviderAddress`, text("ProviderAddress"));
  // Without one, the router is the provider's hostnet bridge, whose MAC comes from its address.
  const mac =
    s["DistributedRouterMacAddress"] === undefined
      ? overlayBridgeMac(provider.address)
      : text("DistributedRouterMacAddress").toLowerCase().replaceAll("-", ":");
  const unicast = (parseInt(mac.slice(0, 2), 16) & 1) === 0 && mac !== "00:00:00:00:00:00";
  // HNS writes MACs with dashes (02-11-22-33-44-55); the kernel with colons.
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || !unicast)
    throw invalidArgument(`${field}.DistributedRouterMacAddress`, "must be a unicast MAC address");
  return {
    type: "RemoteSubnetRoute",
    destinationPrefix: cidrOf(destination),
    isolationId,
    providerAddress: provider.address,
    drMac: mac,
  };
}

/** A network's policy: one its endpoints get, or one of the network's own. */
export function parseNetworkPolicy(field: string, type: string, settings: unknown): NetworkPolicy {
  if (type === "RemoteSubnetRoute") return parseRemoteSubnetRoute(`${field}.Settings`, settings);
  return parseEndpointPolicy(field, type, settings);
}

export const familyOfAddress = (a: string): Family => (a.includes(":") ? 6 : 4);
