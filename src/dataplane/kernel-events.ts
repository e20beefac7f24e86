/**
 * What the kernel's monitors print (`ip -o monitor all-nsid`, `nft -j monitor`, `tc monitor`), read as the
 * removals drift is made of. Everything else they print (new objects, state changes, neighbours learnt and
 * forgotten) is not drift hostnet repairs before its periodic check: it is dropped here.
 */
import { NFT_TABLE, ownerOfNftName, RULE_PROTO } from "./naming.js";
import { isNftFamily } from "./nft-sets.js";
import { identity, type KernelObject } from "./objects.js";
import { nftElementOf } from "./observe-nft.js";

/** Where a removal happened: hostnetd's namespace (null), or a namespace by its id there (nsid). */
type Where = number | null;

export type Removal =
  | { readonly kind: "link"; readonly where: Where; readonly name: string }
  /** In another namespace, `dev` is only the label of an IPv4 address: ip names it by its own indexes. */
  | { readonly kind: "address"; readonly where: Where; readonly dev: string; readonly cidr: string }
  | {
      readonly kind: "route";
      readonly where: Where;
      readonly family: 4 | 6;
      /** As `ip route` prints it: "default", a prefix, or a bare address for a host route. */
      readonly dst: string;
      readonly via?: string;
      readonly dev?: string;
      readonly proto?: string;
      readonly metric?: number;
      /** A routing table other than main, by number. */
      readonly table?: number;
    }
  /** A routing rule hostnet made (protocol RULE_PROTO): packets `from` an address look up `table`. */
  | {
      readonly kind: "rule";
      readonly where: Where;
      readonly family: 4 | 6;
      readonly priority: number;
      readonly from: string;
      readonly table: number;
    }
  | { readonly kind: "neighbour"; readonly dev: string; readonly address: string }
  | { readonly kind: "qdisc"; readonly dev: string; readonly qdisc: string }
  /**
   * A table, chain, rule or set of hostnet's nft tables; `id`: the identity of an owner's chain or set it
   * took (a rule takes its chain), which alone is lost, not the table.
   */
  | { readonly kind: "nft"; readonly family: string; readonly object: string; readonly id?: string }
  /**
   * Elements of one of hostnet's nft sets, as they were when removed: a replace's own delete removes the
   * element in its old state, which the record no longer has.
   */
  | {
      readonly kind: "nftElements";
      readonly family: string;
      readonly set: string;
      readonly elements: readonly KernelObject[];
    };

const NUD_STATES = /\b(PERMANENT|NOARP|REACHABLE|STALE|FAILED|INCOMPLETE|DELAY|PROBE|NONE)\s*$/;
/** Route types other than unicast: the kernel's own (local, broadcast, multicast) or none of hostnet's. */
const ROUTE_TYPES = new Set([
  "local",
  "broadcast",
  "multicast",
  "anycast",
  "unreachable",
  "blackhole",
  "prohibit",
  "throw",
  "nat",
]);

/** Routing tables by the names ip prints for them (rt_tables). */
const TABLE_NAMES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };

/** A line of `ip -o monitor all-nsid link address route rule neigh`; undefined unless it is a removal. */
export function parseIpMonitorLine(line: string): Removal | undefined {
  const m = /^\[nsid (current|\d+)\]Deleted (.*)$/.exec(line.trim());
  if (m === null) return undefined;
  const where = m[1] === "current" ? null : Number(m[1]);
  const rest = m[2] ?? "";
  const rule = /^(\d+):\s+from (\S+) lookup (\S+)(.*)$/.exec(rest);
  if (rule !== null) return ruleRemoval(where, rule);
  const link = /^\d+: ([^\s@:]+)(?:@\S+)?: </.exec(rest);
  // A deleted link has a qdisc; the bridge family's message without one is a port leaving its bridge.
  if (link !== null)
    return rest.includes(" qdisc ") ? { kind: "link", where, name: link[1] ?? "" } : undefined;
  if (/^\d+: \S+\s+inet6? /.test(rest)) return addressRemoval(where, rest);
  if (rest.includes(" lladdr ") || NUD_STATES.test(rest)) {
    const neighbour = /^(\S+) dev (\S+)/.exec(rest);
    if (neighbour === null || where !== null) return undefined;
    return { kind: "neighbour", dev: neighbour[2] ?? "", address: neighbour[1] ?? "" };
  }
  return routeRemoval(where, rest);
}

/** `3: eth0    inet 10.9.0.2/24 brd … scope global eth0\ valid_lft …`: IPv4 addresses end in their label. */
function addressRemoval(where: Where, text: string): Removal | undefined {
  const tokens = (text.split("\\")[0] ?? "").trim().split(/\s+/);
  const after = (key: string): string | undefined => tokens[tokens.indexOf(key) + 1];
  if (after("scope") !== "global") return undefined;
  const v4 = tokens.includes("inet");
  const cidr = after(v4 ? "inet" : "inet6") ?? "";
  return { kind: "address", where, dev: (v4 ? tokens.at(-1) : tokens[1]) ?? "", cidr };
}

/** `1001:\tfrom 10.9.0.2 lookup 1001 proto 211`: only hostnet's rules, by their protocol. */
function ruleRemoval(where: Where, [, priority, from, table, rest]: RegExpExecArray): Removal | undefined {
  if (!new RegExp(`\\bproto ${String(RULE_PROTO)}\\b`).test(rest ?? "") || from === undefined)
    return undefined;
  return {
    kind: "rule",
    where,
    family: from.includes(":") ? 6 : 4,
    priority: Number(priority),
    from,
    table: TABLE_NAMES[table ?? ""] ?? Number(table),
  };
}

function routeRemoval(where: Where, text: string): Removal | undefined {
  const tokens = text.trim().split(/\s+/);
  const [dst] = tokens;
  if (dst === undefined || ROUTE_TYPES.has(dst)) return undefined;
  const after = (key: string): string | undefined => {
    const i = tokens.indexOf(key);
    return i < 0 ? undefined : tokens[i + 1];
  };
  // Routes of other tables than main: hostnet's are an endpoint's replies' (numbered), the rest the kernel's.
  const table = after("table");
  if (table !== undefined && !/^\d+$/.test(table)) return undefined;
  const via = after("via");
  const dev = after("dev");
  const proto = after("proto");
  const metric = after("metric");
  const family = dst.includes(":") || via?.includes(":") === true ? 6 : 4;
  return {
    kind: "route",
    where,
    family,
    dst,
    ...(via === undefined ? {} : { via }),
    ...(dev === undefined ? {} : { dev }),
    ...(proto === undefined ? {} : { proto }),
    ...(metric === undefined ? {} : { metric: Number(metric) }),
    ...(table === undefined ? {} : { table: Number(table) }),
  };
}

/** A line of `tc monitor`; undefined unless a qdisc was deleted. */
export function parseTcMonitorLine(line: string): Removal | undefined {
  const m = /^deleted qdisc (\S+) \S+ dev (\S+) /.exec(line.trim());
  return m === null ? undefined : { kind: "qdisc", qdisc: m[1] ?? "", dev: m[2] ?? "" };
}

interface NftMonitorEntry {
  readonly delete?: Record<
    string,
    { family?: string; table?: string; name?: string; chain?: string; elem?: { set?: unknown[] } } | undefined
  >;
}

/** A line of `nft -j monitor`; undefined unless something of hostnet's tables was deleted. */
export function parseNftMonitorLine(line: string): Removal | undefined {
  let entry: NftMonitorEntry;
  try {
    entry = JSON.parse(line) as NftMonitorEntry;
  } catch {
    return undefined;
  }
  const [object, body] = Object.entries(entry.delete ?? {})[0] ?? [];
  if (object === undefined || body === undefined) return undefined;
  const family = body.family ?? "";
  const table = object === "table" ? body.name : body.table;
  if (table !== NFT_TABLE) return undefined;
  if (object !== "element") {
    const name = (object === "rule" ? body.chain : body.name) ?? "";
    const owner = ownerOfNftName(name);
    if (owner === undefined || !isNftFamily(family)) return { kind: "nft", family, object };
    const taken: KernelObject =
      object === "set" || object === "map"
        ? { kind: "nftSet", owner, family, name, declaration: "" }
        : { kind: "nftChain", owner, family, name, rules: [] };
    return { kind: "nft", family, object, id: identity(taken) };
  }
  const set = body.name ?? "";
  const elements = (body.elem?.set ?? []).flatMap((raw) => nftElementOf(family, set, raw) ?? []);
  return elements.length === 0 ? undefined : { kind: "nftElements", family, set, elements };
}

/** One line a person can read: what was removed, and where (a namespace's path, when it is known). */
export function describeRemoval(r: Removal, path?: string): string {
  const where = (w: Where): string =>
    w === null ? "" : ` in ${path ?? `the namespace of nsid ${String(w)}`}`;
  switch (r.kind) {
    case "link":
      return `link ${r.name} deleted${where(r.where)}`;
    case "address":
      return `address ${r.cidr} removed from ${r.dev}${where(r.where)}`;
    case "route":
      return `route ${r.dst}${r.via === undefined ? "" : ` via ${r.via}`}${r.table === undefined ? "" : ` of table ${String(r.table)}`} removed${where(r.where)}`;
    case "rule":
      return `rule ${String(r.priority)} from ${r.from} lookup ${String(r.table)} removed${where(r.where)}`;
    case "neighbour":
      return `neighbour ${r.address} removed from ${r.dev}`;
    case "qdisc":
      return `qdisc ${r.qdisc} removed from ${r.dev}`;
    case "nft":
      return r.object === "table"
        ? `nft table ${r.family} ${NFT_TABLE} deleted`
        : `nft ${r.object} of table ${r.family} ${NFT_TABLE} deleted`;
    case "nftElements":
      return `${String(r.elements.length)} element(s) deleted from nft set ${r.set}`;
  }
}
