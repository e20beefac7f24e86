/**
 * The one address allocator, for every range hostnet hands addresses out of: a network's subnet and a
 * Docker IPAM pool. It runs inside a store write transaction, so two allocations can never interleave. A
 * cursor per range makes the next free address O(1) amortised instead of a scan from the start: it begins
 * at the range's first address, and an address given back comes round again only once the cursor has
 * wrapped. Never runs commands.
 */
import { conflict, HostnetError, invalidArgument } from "../errors.js";
import { ipFromValue, parseIp, type Family, type Prefix } from "../model/ip.js";

/** Addresses to hand out, what keeps one of them from being free, and where the range's cursor is kept. */
export interface AddressRange {
  readonly family: Family;
  /** How refusals name the range: "subnet 10.0.0.0/24". */
  readonly name: string;
  /** The first and last address that may be handed out, as values. */
  readonly first: bigint;
  readonly last: bigint;
  /** Why the address may not be handed out now ("is the gateway of …"); undefined when it is free. */
  unavailable(address: string, value: bigint): string | undefined;
  /** The offset from `first` to try first. */
  cursor(): bigint;
  setCursor(offset: bigint): void;
}

/**
 * Hands out `requested` (refused, naming its field, when outside the range or not free) or else the next
 * free address from the cursor on; `take` records it. Returns the address's text.
 */
export function allocate(
  range: AddressRange,
  requested: { field: string; address: string } | undefined,
  take: (address: string) => void,
): string {
  if (requested !== undefined) {
    const { field } = requested;
    const ip = parseIp(field, requested.address);
    if (ip.family !== range.family || ip.value < range.first || ip.value > range.last)
      throw invalidArgument(field, `${ip.address} is not a host address of ${range.name}`);
    const why = range.unavailable(ip.address, ip.value);
    if (why !== undefined) throw conflict(`${field}: ${ip.address} ${why}`, field);
    take(ip.address);
    return ip.address;
  }
  const size = range.last - range.first + 1n;
  const cursor = range.cursor() % size;
  for (let step = 0n; step < size; step++) {
    const offset = (cursor + step) % size;
    const value = range.first + offset;
    const address = ipFromValue(range.family, value);
    if (range.unavailable(address, value) !== undefined) continue;
    take(address);
    range.setCursor(offset + 1n);
    return address;
  }
  throw new HostnetError("Conflict", `${range.name} has no free address`);
}

/** The free addresses of the range inside `prefixes`, lazily, in order. */
export function* freeAddressesIn(range: AddressRange, prefixes: readonly Prefix[]): Generator<string, void> {
  for (const p of prefixes)
    for (let value = max(p.first, range.first); value <= min(p.last, range.last); value++) {
      const address = ipFromValue(range.family, value);
      if (range.unavailable(address, value) === undefined) yield address;
    }
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
