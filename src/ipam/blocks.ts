/**
 * Address blocks of an overlay subnet. Each host claims whole blocks in the cluster's registry ahead of need,
 * so it can give its endpoints addresses from them while etcd is unreachable: no other host allocates there.
 */
import { ipFromValue, type Prefix } from "../model/ip.js";

/** 64 addresses where the subnet has room for at least 16 such blocks; else 16 blocks, of 4 addresses at least. */
export function blockLength(subnet: Prefix): number {
  const bits = subnet.family === 4 ? 32 : 128;
  return Math.max(subnet.length, Math.min(bits - 2, Math.max(bits - 6, subnet.length + 4)));
}

/** How many addresses one block of the subnet has. */
export const blockSize = (subnet: Prefix): bigint =>
  1n << BigInt((subnet.family === 4 ? 32 : 128) - blockLength(subnet));

/** The subnet's blocks in address order, lazily: a /8 has a quarter of a million. */
export function* blocksOf(subnet: Prefix): Generator<Prefix> {
  const length = blockLength(subnet);
  const size = blockSize(subnet);
  for (let first = subnet.first; first <= subnet.last; first += size)
    yield {
      family: subnet.family,
      network: ipFromValue(subnet.family, first),
      length,
      first,
      last: first + size - 1n,
    };
}

/** The block of the subnet that holds an address (given as its value). */
export function blockOfValue(subnet: Prefix, value: bigint): string {
  const size = blockSize(subnet);
  const first = subnet.first + ((value - subnet.first) / size) * size;
  return `${ipFromValue(subnet.family, first)}/${String(blockLength(subnet))}`;
}
