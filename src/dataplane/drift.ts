/**
 * Which removals are drift: those that took an object the reconciler's record says the kernel has. A
 * removal hostnet's own apply made is not: the record no longer has what it deleted.
 */
import type { Removal } from "./kernel-events.js";
import type { KnownObjects } from "./known.js";
import { DSR_ROUTE_PROTO } from "./naming.js";
import { identity, routeMetric } from "./objects.js";

/**
 * The identities of the record's objects `r` took. `netns` is where it happened: null for hostnetd's namespace, the
 * path of a namespace of the store, or undefined for a namespace that is none of hostnet's.
 * `ifnames` are the interfaces hostnet configures in a namespace of the store, with `lo` (a DSR VIP):
 * another namespace's events name devices by indexes ip cannot tell.
 */
export function takenFromRecord(
  r: Removal,
  record: KnownObjects,
  netns: string | null | undefined,
  ifnames: (netns: string) => readonly string[],
): string[] {
  const known = (...ids: string[]): string[] => ids.filter((id) => record.get(id) !== undefined);
  switch (r.kind) {
    case "link":
      if (netns === undefined) return [];
      return known(netns === null ? `link:${r.name}` : `clink:${netns}:${r.name}`);
    case "address":
      if (netns === undefined) return [];
      if (netns === null) return known(`addr::${r.dev}:${r.cidr}`);
      return known(...ifnames(netns).map((dev) => `addr:${netns}:${dev}:${r.cidr}`));
    case "route":
      if (netns === undefined) return [];
      if (netns !== null) {
        const metric = routeMetric(r.family, r.metric);
        return known(
          `route:${netns}:${r.family}:${withLength(r.dst, r.family)}${r.table === undefined ? "" : `@${r.table}`}${metric === undefined ? "" : `#${metric}`}`,
        );
      }
      if (r.table !== undefined) return [];
      if (r.proto === String(DSR_ROUTE_PROTO)) return known(`viproute:${r.dst.split("/")[0] ?? r.dst}`);
      return hostRoutesKnown(r, record);
    // hostnet's rules are in container namespaces only.
    case "rule":
      if (netns === undefined || netns === null) return [];
      return known(`rule:${netns}:${r.family}:${r.priority}:${r.from}:${r.table}`);
    case "neighbour":
      return record
        .all()
        .filter((o) => o.kind === "overlayPeer" && o.bridge === r.dev && o.addresses.includes(r.address))
        .map(identity);
    // hostnet's qdiscs are tbf shapers and clsact redirects; the kernel's default one a shaper replaces is none.
    case "qdisc":
      if (r.qdisc === "clsact") return known(`redirect:${r.dev}`);
      return r.qdisc === "tbf" ? known(`shaper:${r.dev}`) : [];
    // A chain, rule or set gone leaves the table broken: it is rebuilt whole, as if it were gone.
    case "nft":
      return known(`nft:${r.family}`);
    case "nftElements":
      return known(...r.ids);
  }
}

/** Container routes are observed with their prefix length, also host routes (ip prints those without). */
const withLength = (dst: string, family: 4 | 6): string =>
  dst === "default" || dst.includes("/") ? dst : `${dst}/${family === 4 ? "32" : "128"}`;

/** Routes of hostnetd's namespace through one of hostnet's bridges (found by its bridge's owner). */
function hostRoutesKnown(r: Extract<Removal, { kind: "route" }>, record: KnownObjects): string[] {
  const bridge = r.dev === undefined ? undefined : record.get(`link:${r.dev}`);
  if (bridge === undefined) return [];
  return record
    .ofOwners([bridge.owner])
    .filter(
      (o) =>
        o.kind === "hostRoute" && o.dev === r.dev && o.route.family === r.family && o.route.dst === r.dst,
    )
    .map(identity);
}
