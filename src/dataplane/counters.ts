/** Packet and byte counters of the rules of one chain of table inet hostnet, by rule comment. */
import type { Runner } from "./linux/exec.js";
import { NFT_TABLE } from "./naming.js";

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

interface RuleJson {
  comment?: string;
  expr?: { counter?: Counter }[];
}

export async function ruleCounters(runner: Runner, chain: string): Promise<Map<string, Counter>> {
  const out = new Map<string, Counter>();
  let json: { nftables: { rule?: RuleJson }[] };
  try {
    json = JSON.parse(
      (await runner.run(["nft", "-j", "list", "chain", "inet", NFT_TABLE, chain])).stdout,
    ) as {
      nftables: { rule?: RuleJson }[];
    };
  } catch {
    return out;
  }
  for (const { rule } of json.nftables) {
    const counter = rule?.expr?.find((e) => e.counter !== undefined)?.counter;
    if (rule?.comment === undefined || counter === undefined) continue;
    const sum = out.get(rule.comment) ?? { packets: 0, bytes: 0 };
    out.set(rule.comment, { packets: sum.packets + counter.packets, bytes: sum.bytes + counter.bytes });
  }
  return out;
}
