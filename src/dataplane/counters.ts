/** Packet and byte counters of the elements of some of hostnet's nft sets, by element comment. */
import type { Runner } from "./linux/exec.js";
import { NFT_TABLE } from "./naming.js";
import { setDefinition, type NftSetName } from "./nft-sets.js";

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

interface SetJson {
  elem?: unknown[];
}

/** The element of a set or of a map entry, when it carries a comment and a counter. */
function counted(raw: unknown): { comment: string; counter: Counter } | undefined {
  const key: unknown = Array.isArray(raw) ? raw[0] : raw;
  if (typeof key !== "object" || key === null || !("elem" in key)) return undefined;
  const { comment, counter } = (key as { elem: { comment?: string; counter?: Counter } }).elem;
  return comment === undefined || counter === undefined ? undefined : { comment, counter };
}

export async function elementCounters(
  runner: Runner,
  sets: readonly NftSetName[],
): Promise<Map<string, Counter>> {
  const out = new Map<string, Counter>();
  const listed = await Promise.all(
    sets.map(async (name) => {
      try {
        const kind = setDefinition(name).value === null ? "set" : "map";
        const { stdout } = await runner.run(["nft", "-j", "list", kind, "inet", NFT_TABLE, name]);
        return (JSON.parse(stdout) as { nftables: { set?: SetJson; map?: SetJson }[] }).nftables;
      } catch {
        return [];
      }
    }),
  );
  for (const entry of listed.flat())
    for (const raw of (entry.set ?? entry.map)?.elem ?? []) {
      const found = counted(raw);
      if (found === undefined) continue;
      const sum = out.get(found.comment) ?? { packets: 0, bytes: 0 };
      out.set(found.comment, {
        packets: sum.packets + found.counter.packets,
        bytes: sum.bytes + found.counter.bytes,
      });
    }
  return out;
}
