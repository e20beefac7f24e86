/**
 * Which removals are drift: those that took an object the reconciler's record says the kernel has. A
 * removal hostnet's own apply made is not: the record no longer has what it deleted.
 */
import { describeRemoval, type Removal } from "./kernel-events.js";
import type { KnownObjects } from "./known.js";
import { DSR_ROUTE_PROTO } from "./naming.js";
import { identity, routeMetric, sameState } from "./objects.js";

/** What removals the kernel reported took from the record. */
export interface Drift {
  readonly removals: readonly Removal[];
  /** Each removal as a person reads it, with the namespace's path. */
  readonly causes: readonly string[];
  /** The identities of the objects of the record they took. */
  readonly lost: readonly string[];
  /** hostnet's nft tables that lost chains, rules or sets but are still there: they are rebuilt whole. */
  readonly damaged?: readonly string[];
  /**
   * Some removals took what hostnet's own apply had just made or replaced: the kernel's late report of that
   * apply, of a removal already repaired, or someone else's removal of the new object. The repair observes
   * the kernel to tell: its nft tables only when only they are in doubt.
   */
  readonly observe?: "nft" | "all";
}

/** A repair's drift: what the monitors reported, or "all" to observe the whole kernel (the periodic check). */
export type RepairScope = "all" | Drift;

/** The identities of hostnet's two nft tables. */
const NFT_TABLES: readonly string[] = ["nft:inet", "nft:bridge"];

/** What drift needs to know beside the record. */
export interface DriftContext {
  /** The path of the namespace a removal happened in, when it is one of the store's. */
  pathOf(r: Removal): string | undefined;
  /** The interfaces hostnet configures in a namespace of the store (see takenFromRecord). */
  ifnamesIn(netns: string): readonly string[];
  /** Whether hostnet's own apply made this object so recently that a removal of it may be its own. */
  inDoubt(id: string): boolean;
}

/**
 * What `removals` took from the record `known` (undefined after an apply failed: then every removal may
 * be drift, and the repair observes the kernel). A table's own removal is in doubt as `<id> table`.
 */
export function driftOf(
  removals: readonly Removal[],
  known: KnownObjects | undefined,
  ctx: DriftContext,
): Drift {
  if (known === undefined)
    return { removals, causes: removals.map((r) => describeRemoval(r, ctx.pathOf(r))), lost: [] };
  let observe: Drift["observe"];
  const taken = removals.flatMap((r) => {
    const netns = "where" in r && r.where !== null ? ctx.pathOf(r) : null;
    const ids = takenFromRecord(r, known, netns, (path) => ctx.ifnamesIn(path));
    const lost = ids.filter(
      (id) => !ctx.inDoubt(r.kind === "nft" && r.object === "table" ? `${id} table` : id),
    );
    if (lost.length < ids.length)
      observe = observe === "all" || (r.kind !== "nft" && r.kind !== "nftElements") ? "all" : "nft";
    return ids.length === 0 ? [] : [{ r, lost }];
  });
  const whole = (r: Removal): boolean => r.kind !== "nft" || r.object === "table" || r.id !== undefined;
  const lost = new Set(taken.flatMap(({ r, lost }) => (whole(r) ? lost : [])));
  const damaged = new Set(taken.flatMap(({ r, lost: ids }) => (whole(r) ? [] : ids)));
  // `nft flush ruleset` takes both tables, but the monitor may print the second table's removal only
  // after the first's repair began: rebuilding both at once repairs it in one go, within the 2 s.
  if ([...lost, ...damaged].some((id) => NFT_TABLES.includes(id)))
    for (const id of NFT_TABLES) if (known.get(id) !== undefined) damaged.add(id);
  return {
    removals: taken.map(({ r }) => r),
    causes: [...new Set(taken.map(({ r }) => describeRemoval(r, ctx.pathOf(r))))],
    lost: [...lost],
    damaged: [...damaged].filter((id) => !lost.has(id)),
    ...(observe === undefined ? {} : { observe }),
  };
}

/**
 * The identities of the record's objects `r` took. `netns` is where it happened: null for hostnetd's namespace, the
 * path of a namespace of the store, or undefined for a namespace that is none of hostnet's.
 * `ifnames` are the interfaces hostnet configures in a namespace of the store, with `lo` (a DSR VIP):
 * another namespace's events name devices by indexes ip cannot tell.
 */
function takenFromRecord(
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
      return known(r.id ?? `nft:${r.family}`);
    // Only an element in the state the record has: one in another state is an older one, which a replace
    // (delete and add in one transaction) removed itself. Such a removal needs no look at the kernel, which
    // for a load balancer's slots rewritten at each backend removed was a listing of every element.
    case "nftElements":
      return r.elements.flatMap((removed) => {
        const id = identity(removed);
        const had = record.get(id);
        return had !== undefined && sameState(had, removed) ? [id] : [];
      });
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
