/**
 * Address allocation inside a subnet. Runs inside a store write transaction, so two allocations can
 * never interleave; a per-subnet cursor makes the next free address O(1) amortised instead of a scan.
 * Never runs commands.
 */
import { conflict, HostnetError, invalidArgument } from "../errors.js";
import { contains, hostRange, ipFromValue, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { Subnet } from "../model/types.js";
import type { Store } from "../store/store.js";

/**
 * Reserves `requested` (validated against the subnet) or the next free address; returns its text. Never
 * the gateway, nor an address of `hostAddresses` (the host's own on a LAN subnet). With `preferred`, a free
 * address of those prefixes comes first (an overlay host's own blocks).
 */
export function allocateAddress(
  store: Store,
  subnet: Subnet,
  endpointId: string,
  requested: { field: string; address: string } | undefined,
  hostAddresses: ReadonlySet<string> = new Set(),
  preferred: readonly Prefix[] = [],
): string {
  const prefix = parsePrefix("subnet", subnet.prefix);
  const range = hostRange(prefix);
  const gateway = parseIp("gateway", subnet.gateway).value;
  if (requested !== undefined) {
    const ip = parseIp(requested.field, requested.address);
    if (!contains(prefix, ip) || ip.value < range.first || ip.value > range.last)
      throw invalidArgument(
        requested.field,
        `${ip.address} is not a host address of subnet ${subnet.prefix}`,
      );
    if (ip.value === gateway)
      throw conflict(`${requested.field}: ${ip.address} is the gateway of ${subnet.prefix}`, requested.field);
    if (hostAddresses.has(ip.address))
      throw conflict(`${requested.field}: ${ip.address} is the host's own address`, requested.field);
    if (store.addressTaken(subnet.id, ip.address))
      throw conflict(`${requested.field}: ${ip.address} is already in use`, requested.field);
    store.insertAddress(subnet.id, ip.address, endpointId);
    return ip.address;
  }
  const inPreferred = freeAddresses(store, subnet, preferred, hostAddresses).next();
  if (inPreferred.done !== true) {
    store.insertAddress(subnet.id, inPreferred.value, endpointId);
    return inPreferred.value;
  }
  const size = range.last - range.first + 1n;
  const cursor = store.subnetCursor(subnet.id) % size;
  for (let step = 0n; step < size; step++) {
    const offset = (cursor + step) % size;
    const value = range.first + offset;
    if (value === gateway) continue;
    const address = ipFromValue(subnet.family, value);
    if (hostAddresses.has(address) || store.addressTaken(subnet.id, address)) continue;
    store.insertAddress(subnet.id, address, endpointId);
    store.setSubnetCursor(subnet.id, offset + 1n);
    return address;
  }
  throw new HostnetError("Conflict", `subnet ${subnet.prefix} has no free address`);
}

/** The free addresses of `prefixes` in the subnet, lazily, in order: not the gateway, the host's, nor taken. */
export function* freeAddresses(
  store: Store,
  subnet: Subnet,
  prefixes: readonly Prefix[],
  hostAddresses: ReadonlySet<string> = new Set(),
): Generator<string, void> {
  const range = hostRange(parsePrefix("subnet", subnet.prefix));
  const gateway = parseIp("gateway", subnet.gateway).value;
  for (const p of prefixes)
    for (let value = max(p.first, range.first); value <= min(p.last, range.last); value++) {
      if (value === gateway) continue;
      const address = ipFromValue(subnet.family, value);
      if (!hostAddresses.has(address) && !store.addressTaken(subnet.id, address)) yield address;
    }
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
