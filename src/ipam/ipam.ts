/**
 * Address allocation inside a network's subnet, with the one allocator of allocator.ts: the subnet's host
 * addresses but its gateway, its cursor and its addresses kept in the store. Never runs commands.
 */
import { hostRange, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { Subnet } from "../model/types.js";
import type { Store } from "../store/store.js";
import { allocate, freeAddressesIn, type AddressRange } from "./allocator.js";

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
  const range = subnetRange(store, subnet, hostAddresses);
  const take = (address: string): void => {
    store.endpoints.insertAddress(subnet.id, address, endpointId);
  };
  const inPreferred = requested === undefined ? freeAddressesIn(range, preferred).next() : undefined;
  if (inPreferred !== undefined && inPreferred.done !== true) {
    take(inPreferred.value);
    return inPreferred.value;
  }
  return allocate(range, requested, take);
}

/** The free addresses of `prefixes` in the subnet, lazily, in order: not the gateway, the host's, nor taken. */
export function freeAddresses(
  store: Store,
  subnet: Subnet,
  prefixes: readonly Prefix[],
  hostAddresses: ReadonlySet<string> = new Set(),
): Generator<string, void> {
  return freeAddressesIn(subnetRange(store, subnet, hostAddresses), prefixes);
}

function subnetRange(store: Store, subnet: Subnet, hostAddresses: ReadonlySet<string>): AddressRange {
  const { first, last } = hostRange(parsePrefix("subnet", subnet.prefix));
  const gateway = parseIp("gateway", subnet.gateway).value;
  return {
    family: subnet.family,
    name: `subnet ${subnet.prefix}`,
    first,
    last,
    unavailable: (address, value) => {
      if (value === gateway) return `is the gateway of ${subnet.prefix}`;
      if (hostAddresses.has(address)) return "is the host's own address";
      return store.endpoints.addressTaken(subnet.id, address) ? "is already in use" : undefined;
    },
    cursor: () => store.networks.subnetCursor(subnet.id),
    setCursor: (offset) => {
      store.networks.setSubnetCursor(subnet.id, offset);
    },
  };
}
