/**
 * A network's subnets: a requested one checked, a free default one picked, and the one scan for prefixes
 * other networks have (their subnets and the remote subnets they route to) that every overlap check uses.
 */
import type { HostAddress } from "../dataplane/hostfacts.js";
import { conflictAt, HostnetError, invalidArgument } from "../errors.js";
import {
  cidrOf,
  contains,
  type Family,
  hostRange,
  type Ip,
  ipFromValue,
  overlaps,
  parseIp,
  parsePrefix,
  type Prefix,
  specialRangeOf,
} from "../model/ip.js";
import type { Network } from "../model/types.js";
import { routedPrefixes } from "../policies/checks.js";
import type { Core } from "./context.js";
import type { SubnetSpec } from "./specs.js";

export interface ParsedSubnet {
  readonly prefix: Prefix;
  readonly gateway: string;
}

/** Where subnets come from when none is given. */
const DEFAULT_POOLS = {
  4: { pool: "172.16.0.0/12", length: 16 },
  6: { pool: "fd68:6f73:746e::/48", length: 64 },
} as const;

export function parseSubnet(spec: SubnetSpec): ParsedSubnet {
  const prefix = parsePrefix(spec.prefixField, spec.prefix);
  const special = specialRangeOf(prefix);
  if (special !== undefined)
    throw invalidArgument(
      spec.prefixField,
      `${cidrOf(prefix)} overlaps ${special.what}, which is no network's to give out`,
    );
  const range = hostRange(prefix);
  if (range.last - range.first < 1n)
    throw invalidArgument(spec.prefixField, `${cidrOf(prefix)} is too small for a gateway and an endpoint`);
  if (spec.gateway === undefined) return { prefix, gateway: ipFromValue(prefix.family, range.first) };
  const gw = parseIp(spec.gatewayField, spec.gateway);
  if (!contains(prefix, gw) || gw.value < range.first || gw.value > range.last)
    throw invalidArgument(
      spec.gatewayField,
      `gateway ${gw.address} is not a host address of ${cidrOf(prefix)}`,
    );
  return { prefix, gateway: gw.address };
}

/**
 * The first /16 of 172.16.0.0/12, or /64 of hostnet's IPv6 ULA /48, that no network, address or route of
 * this host touches, nor any of `alsoTaken`.
 */
export async function freeSubnet(
  core: Core,
  family: Family,
  alsoTaken: readonly Prefix[],
  field: string,
): Promise<Prefix> {
  const taken = [
    ...alsoTaken,
    ...(await core.host.prefixes()),
    ...core.store.networks.all().flatMap((n) => n.subnets.map((s) => parsePrefix("subnet", s.prefix))),
  ];
  const { pool, length } = DEFAULT_POOLS[family];
  const range = parsePrefix("pool", pool);
  for (let v = range.first; v <= range.last; v += 1n << BigInt((family === 4 ? 32 : 128) - length)) {
    const prefix = parsePrefix("subnet", `${ipFromValue(family, v)}/${length}`);
    if (!taken.some((t) => overlaps(t, prefix))) return prefix;
  }
  throw new HostnetError("Conflict", `no free /${length} left in ${pool}; give a subnet`, { field });
}

/** A free IPv4 subnet from the default pool, its gateway the first host address. */
export async function defaultSubnet(core: Core): Promise<ParsedSubnet> {
  const prefix = await freeSubnet(core, 4, [], "subnets");
  return { prefix, gateway: ipFromValue(4, hostRange(prefix).first) };
}

/**
 * The first prefix of another network (than `except`) that `prefix` overlaps: one of its subnets, or a prefix
 * beyond them that it routes to (a routed overlay's remote subnets).
 */
export function overlapping(
  networks: readonly Network[],
  prefix: Prefix,
  except?: string,
): { readonly prefix: string; readonly network: Network } | undefined {
  for (const network of networks)
    for (const other of [...network.subnets.map((s) => s.prefix), ...routedPrefixes(network.policies)])
      if (network.id !== except && overlaps(prefix, parsePrefix("subnet", other)))
        return { prefix: other, network };
  return undefined;
}

/**
 * Refuses a subnet that would take an address the host needs, for a network that owns its subnet (one that
 * takes no uplink): the bridge would take the host's own address, or the route to the default gateway would
 * lead into the bridge, and the host would lose its network.
 */
export function checkAgainstHostAddresses(prefix: Prefix, field: string, host: readonly HostAddress[]): void {
  for (const a of host) {
    const ip = parseAddressOrUndefined(a.address);
    if (ip !== undefined && contains(prefix, ip))
      throw conflictAt(
        field,
        `${cidrOf(prefix)} holds ${a.address}, ${a.what}: the host would lose its network`,
      );
  }
}

function parseAddressOrUndefined(text: string): Ip | undefined {
  try {
    return parseIp("address", text);
  } catch {
    return undefined;
  }
}
