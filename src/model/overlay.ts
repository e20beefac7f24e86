/** Overlay networks' rules that every host can apply to every other: no registry needed. */
import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";
import type { Ip } from "./ip.js";

const hex = (bytes: readonly number[]): string => bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");

/**
 * The MAC of a host's bridges of overlay networks. A bridge takes the lowest MAC of its ports unless it has
 * its own, and a change of MAC flushes its neighbour table, peers' permanent entries included, so it is
 * fixed. It is distinct per host, as other hosts send this host's source address to it, and in a routed
 * overlay it is the host's router (HNS's DrMacAddress); so it comes from the host's underlay address (an
 * IPv4 one is its last four bytes), and anyone can tell it from that address. Its first byte, 0x0a, is one
 * no MAC hostnet gives an endpoint (02:…) has, so a remote endpoint with this MAC is its host's source
 * address.
 */
export function overlayBridgeMac(hostAddress: string): string {
  const bytes = isIPv4(hostAddress)
    ? hostAddress.split(".").map(Number)
    : [...createHash("sha256").update(hostAddress).digest().subarray(0, 4)];
  return hex([0x0a, 0x68, ...bytes]);
}

/**
 * The MAC of an overlay endpoint that was given none: 02:68 and the low four bytes of its address, as
 * Docker's bridge gives containers 02:42 and their IPv4 address. An endpoint moved to another host with its
 * address keeps its MAC, so the neighbour caches of containers that talked to it stay right; with a random
 * MAC they kept the old one until it aged out (48 s in the case that showed it). An IPv4 address is four
 * bytes, so no two addresses of a network share one; two IPv6 addresses can, when they differ only above
 * their low 32 bits.
 */
export function overlayEndpointMac(ip: Ip): string {
  const low = Number(ip.value & 0xffffffffn);
  return hex([0x02, 0x68, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff]);
}
