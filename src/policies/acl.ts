/**
 * ACL (HNS ACL): a stateful allow or block rule of an endpoint, or of every endpoint of a network. Its
 * kernel objects are elements of tiered verdict maps (acl-elements.ts).
 */
import { Type, type Static } from "typebox";
import { checkSettingsList } from "../model/limits.js";
import { invalidArgument } from "../errors.js";
import { aclCounterKey } from "../dataplane/naming.js";
import { cidrOf, parseIp, parsePrefix } from "../model/ip.js";
import { aclObjects, checkAclTiers } from "./acl-elements.js";
import { settingsObject, type PolicyKind } from "./kind.js";

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

const ACL_PRIORITY_MAX = 65500;
const PROTOCOL_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };

export const AclSettings = Type.Object(
  {
    Action: Type.Union([Type.Literal("Allow"), Type.Literal("Block")]),
    Direction: Type.Union([Type.Literal("In"), Type.Literal("Out")], {
      description: "From the endpoint's point of view: In is traffic arriving at it",
    }),
    Protocols: Type.String({
      description:
        "IP protocol numbers, comma-separated; empty for any (tcp, udp, icmp and icmpv6 are read too)",
    }),
    LocalAddresses: Type.String({ description: "Addresses and prefixes, comma-separated; empty for any" }),
    RemoteAddresses: Type.String({ description: "Addresses and prefixes, comma-separated; empty for any" }),
    LocalPorts: Type.String({ description: "Ports and ranges (8000-8080), comma-separated; empty for any" }),
    RemotePorts: Type.String({ description: "Ports and ranges (8000-8080), comma-separated; empty for any" }),
    Priority: Type.Integer({ minimum: 1, maximum: ACL_PRIORITY_MAX, description: "Lowest first" }),
  },
  {
    description:
      "As hostnetd shows them. A request may leave out all but Action and Direction (Priority 100), and give lists as JSON lists",
  },
);
export type AclSettings = Static<typeof AclSettings>;

function list(field: string, value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (typeof value === "number") return [String(value)];
  const items: unknown[] | undefined =
    typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : undefined;
  if (items === undefined) throw invalidArgument(field, "must be a comma-separated list");
  checkSettingsList(field, items);
  return items.map((v) => String(v).trim());
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

function parseAcl(field: string, settings: unknown): AclPolicy {
  const s = settingsObject(field, settings);
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

const rangesText = (ranges: readonly PortRange[]): string =>
  ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(",");

export const acl: PolicyKind<AclPolicy, typeof AclSettings> = {
  type: "ACL",
  settings: AclSettings,
  places: ["endpoint", "network"],
  singleton: false,
  parse: parseAcl,
  view: (p) => ({
    Action: p.action,
    Direction: p.direction,
    Protocols: p.protocols.join(","),
    LocalAddresses: p.localAddresses.join(","),
    RemoteAddresses: p.remoteAddresses.join(","),
    LocalPorts: rangesText(p.localPorts),
    RemotePorts: rangesText(p.remotePorts),
    Priority: p.priority,
  }),
  // The ACLs of the endpoint and of its network are one list, each labelled with its place in its own.
  endpointObjects: ({ ep, net }) => aclObjects(ep, net),
  checkInForce: checkAclTiers,
  counterKey: aclCounterKey,
};
