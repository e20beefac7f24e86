/** Overlay networks' rules that every host can apply to every other: no registry needed. */
import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";

/**
 * The MAC of a host's bridges of overlay networks. A bridge takes the lowest MAC of its ports unless it has
 * its own, and a change of MAC flushes its neighbour table, peers' permanent entries included, so it is
 * fixed. It is distinct per host, as other hosts send this host's source address to it, and in a routed
 * overlay it is the host's router (HNS's DrMacAddress); so it comes from the host's underlay address (an
 * IPv4 one is its last four bytes), and anyone can tell it from that address. Its first byte, 0x0a, is one
 * no endpoint's random MAC (02:…) has, so a remote endpoint with this MAC is its host's source address.
 */
export function overlayBridgeMac(hostAddress: string): string {
  const bytes = isIPv4(hostAddress)
    ? hostAddress.split(".").map(Number)
    : [...createHash("sha256").update(hostAddress).digest().subarray(0, 4)];
  return [0x0a, 0x68, ...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
