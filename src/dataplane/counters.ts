/**
 * What hostnet's nft objects counted: the packet and byte counters of the elements of its maps (ACL rules,
 * load balancer backends), by element comment, and those of its rules, by chain. Read in one listing, since
 * each run of nft costs a process and a netlink dump of its own.
 */
import type { Runner } from "./linux/exec.js";
import { NFT_TABLE } from "./naming.js";

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

export interface NftCounters {
  /** Counters of elements that carry a comment, summed by it. */
  readonly elements: ReadonlyMap<string, Counter>;
  /** Counters of rules, summed by their chain; empty unless read with the rules. */
  readonly chains: ReadonlyMap<string, Counter>;
}

interface Listed {
  set?: { table?: string; elem?: unknown[] };
  map?: { table?: string; elem?: unknown[] };
  rule?: { table?: string; chain?: string; expr?: unknown[] };
}

/** The element of a set or of a map entry, when it carries a comment and a counter. */
function counted(raw: unknown): { comment: string; counter: Counter } | undefined {
  const key: unknown = Array.isArray(raw) ? raw[0] : raw;
  if (typeof key !== "object" || key === null || !("elem" in key)) return undefined;
  const { comment, counter } = (key as { elem: { comment?: string; counter?: Counter } }).elem;
  return comment === undefined || counter === undefined ? undefined : { comment, counter };
}

/** The counter statement of a rule's expressions, if it has one. */
function ruleCounter(expr: readonly unknown[]): Counter | undefined {
  for (const e of expr)
    if (typeof e === "object" && e !== null && "counter" in e) {
      const c = e.counter;
      if (typeof c === "object" && c !== null && "packets" in c) return c as Counter;
    }
  return undefined;
}

function add(to: Map<string, Counter>, key: string, c: Counter): void {
  const sum = to.get(key) ?? { packets: 0, bytes: 0 };
  to.set(key, { packets: sum.packets + c.packets, bytes: sum.bytes + c.bytes });
}

/** The counters of hostnet's table in the output of `nft -j list …`, which may list other tables too. */
export function parseNftCounters(json: string): NftCounters {
  const elements = new Map<string, Counter>();
  const chains = new Map<string, Counter>();
  for (const entry of (JSON.parse(json) as { nftables: Listed[] }).nftables) {
    const set = entry.set ?? entry.map;
    if (set?.table === NFT_TABLE)
      for (const raw of set.elem ?? []) {
        const found = counted(raw);
        if (found !== undefined) add(elements, found.comment, found.counter);
      }
    const rule = entry.rule;
    if (rule?.table === NFT_TABLE && rule.chain !== undefined) {
      const c = ruleCounter(rule.expr ?? []);
      if (c !== undefined) add(chains, rule.chain, c);
    }
  }
  return { elements, chains };
}

/**
 * hostnet's counters, read by one run of nft. Without `rules` it lists the maps of the inet family only
 * (every counted element is a map's), not the table: each of the skeleton's few hundred rules costs a
 * listing about 0.1 ms, most of a scrape's budget.
 */
export async function nftCounters(runner: Runner, rules: boolean): Promise<NftCounters> {
  const args = rules ? ["list", "table", "inet", NFT_TABLE] : ["list", "maps", "inet"];
  try {
    const { stdout } = await runner.run(["nft", "-j", ...args]);
    return parseNftCounters(stdout);
  } catch {
    // No table yet (hostnetd starting, or it was deleted behind its back): nothing counted.
    return { elements: new Map(), chains: new Map() };
  }
}
