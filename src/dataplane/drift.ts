/**
 * Which removals are drift: those that took an object the reconciler's record says the kernel has. A
 * removal hostnet's own apply made is not: the record no longer has what it deleted.
 */
import type { Removal } from "./kernel-events.js";
import type { KnownObjects } from "./known.js";

/**
 * Whether `r` took an object of the record. `netns` is where it happened: null for hostnetd's namespace, the
 * path of a namespace of the store, or undefined for a namespace that is none of hostnet's.
 * `ifnames` are the interfaces hostnet configures in a namespace of the store, with `lo` (a DSR VIP):
 * another namespace's events name devices by indexes ip cannot tell.
 */
export function takesFromRecord(
  r: Removal,
  record: KnownObjects,
  netns: string | null | undefined,
  ifnames: (netns: string) => readonly string[],
): boolean {
  const has = (id: string): boolean => record.get(id) !== undefined;
  switch (r.kind) {
    case "link":
      if (netns === undefined) return false;
      return has(netns === null ? `link:${r.name}` : `clink:${netns}:${r.name}`);
    case "address":
      if (netns === undefined) return false;
      if (netns === null) return has(`addr::${r.dev}:${r.cidr}`);
      return ifnames(netns).some((dev) => has(`addr:${netns}:${dev}:${r.cidr}`));
    case "route":
      if (netns === undefined) return false;
      if (netns !== null) return has(`route:${netns}:${r.family}:${withLength(r.dst, r.family)}`);
      if (r.proto === "211") return has(`viproute:${r.dst.split("/")[0] ?? r.dst}`);
      return hostRouteKnown(r, record);
    case "neighbour":
      return record
        .all()
        .some((o) => o.kind === "overlayPeer" && o.bridge === r.dev && o.addresses.includes(r.address));
    case "qdisc":
      return has(r.qdisc === "clsact" ? `redirect:${r.dev}` : `shaper:${r.dev}`);
    case "nft":
      return has(`nft:${r.family}`);
    case "nftElements":
      return r.ids.some(has);
  }
}

/** Container routes are observed with their prefix length, also host routes (ip prints those without). */
const withLength = (dst: string, family: 4 | 6): string =>
  dst === "default" || dst.includes("/") ? dst : `${dst}/${family === 4 ? "32" : "128"}`;

/** A route of hostnetd's namespace through one of hostnet's bridges (found by its bridge's owner). */
function hostRouteKnown(r: Extract<Removal, { kind: "route" }>, record: KnownObjects): boolean {
  const bridge = r.dev === undefined ? undefined : record.get(`link:${r.dev}`);
  if (bridge === undefined) return false;
  return record
    .ofOwners([bridge.owner])
    .some(
      (o) =>
        o.kind === "hostRoute" && o.dev === r.dev && o.route.family === r.family && o.route.dst === r.dst,
    );
}
