/**
 * Observes hostnet's nft tables (`nft -j list table`) of both families: the tables, whether their rules are
 * the skeleton's, every set element, whose comment names its owner, and the chains and sets of owners,
 * whose names name them.
 */
import type { Runner } from "./linux/exec.js";
import { NFT_TABLE, ownerOfNftName, parseElementComment, versionOfChain } from "./naming.js";
import { isNftSetName, nftFamilies, setDefinition, type ElementPart, type NftFamily } from "./nft-sets.js";
import type { KernelObject } from "./objects.js";

interface NftJson {
  nftables: ({
    table?: object;
    chain?: { name: string };
    rule?: { chain: string; comment?: string };
    set?: { name: string; elem?: unknown[] };
    map?: { name: string; elem?: unknown[] };
  } & Record<string, unknown>)[];
}

/** Port mappings and load balancers name their protocols; observation reads them as numbers (`nft -p`). */
const PROTOCOL_NAMES: Record<number, string> = { 6: "tcp", 17: "udp" };

/** nft's JSON `{"range": [a, b]}` or a single value as hostnet writes it: "a-b" or "a". */
function rangeText(v: unknown): string {
  if (typeof v === "object" && v !== null && "range" in v) {
    const [from, to] = (v as { range: [unknown, unknown] }).range;
    return from === to ? String(from) : `${String(from)}-${String(to)}`;
  }
  return String(v);
}

function toParts(types: readonly ElementPart["t"][], value: unknown): ElementPart[] {
  const raw =
    types.length > 1 && typeof value === "object" && value !== null && "concat" in value
      ? (value as { concat: unknown[] }).concat
      : [value];
  return types.map((t, i): ElementPart => {
    const v = raw[i];
    if (t === "port" || t === "slot") return { t, v: Number(v) };
    if (t === "proto") return { t, v: typeof v === "number" ? (PROTOCOL_NAMES[v] ?? String(v)) : String(v) };
    if (t === "protoRange" || t === "portRange") return { t, v: rangeText(v) };
    if (t === "ether") return { t, v: String(v) };
    if (t === "verdict") return { t, v: verdictText(v) };
    if (t === "prefix") {
      if (typeof v === "object" && v !== null && "prefix" in v) {
        const p = (v as { prefix: { addr: string; len: number } }).prefix;
        return { t, v: `${p.addr}/${p.len}` };
      }
      const addr = String(v);
      return { t, v: `${addr}/${addr.includes(":") ? 128 : 32}` };
    }
    return { t, v: String(v) };
  });
}

/**
 * An element of one of hostnet's nft sets as nft's JSON shows it (`nft -j list`, `nft -j monitor`); undefined
 * for sets that are not hostnet's skeleton's (a load balancer's affinity sets are the kernel's to fill).
 */
export function nftElementOf(family: string, setName: string, raw: unknown): KernelObject | undefined {
  if (!isNftSetName(setName)) return undefined;
  const def = setDefinition(setName);
  if (def.family !== family) return undefined;
  const isMap = Array.isArray(raw);
  const keyRaw: unknown = isMap ? (raw as unknown[])[0] : raw;
  const elem =
    typeof keyRaw === "object" && keyRaw !== null && "elem" in keyRaw
      ? (keyRaw as { elem: { val: unknown; comment?: string } }).elem
      : { val: keyRaw };
  const { owner, label } = parseElementComment(elem.comment) ?? { owner: "orphan" };
  return {
    kind: "nftElement",
    owner,
    set: setName,
    key: toParts(def.key, elem.val),
    value: def.value === null || !isMap ? null : toParts(def.value, (raw as unknown[])[1]),
    ...(label === undefined ? {} : { label }),
  };
}

async function observeNftFamily(runner: Runner, family: NftFamily): Promise<KernelObject[]> {
  let json: NftJson;
  try {
    json = JSON.parse(
      (await runner.run(["nft", "-j", "-p", "list", "table", family, NFT_TABLE])).stdout,
    ) as NftJson;
  } catch {
    return [];
  }
  const out: KernelObject[] = [];
  let version: string | undefined;
  let rules = 0;
  /** Owners' chains, with the digests their rules carry. */
  const chains = new Map<string, string[]>();
  for (const entry of json.nftables) {
    if (entry.table !== undefined) version = "unknown";
    if (entry.rule !== undefined) {
      const digests = chains.get(entry.rule.chain);
      if (digests === undefined) rules++;
      else digests.push(entry.rule.comment ?? "");
    }
    if (entry.chain !== undefined) {
      version = versionOfChain(entry.chain.name) ?? version;
      if (ownerOfNftName(entry.chain.name) !== undefined) chains.set(entry.chain.name, []);
    }
    const set = entry.set ?? entry.map;
    const setOwner = set === undefined ? undefined : ownerOfNftName(set.name);
    if (set !== undefined && setOwner !== undefined)
      out.push({ kind: "nftSet", owner: setOwner, family, name: set.name, declaration: "" });
    else if (set !== undefined)
      for (const raw of set.elem ?? []) {
        const element = nftElementOf(family, set.name, raw);
        if (element !== undefined) out.push(element);
      }
  }
  for (const [name, digests] of chains)
    out.push({
      kind: "nftChain",
      owner: ownerOfNftName(name) ?? "orphan",
      family,
      name,
      rules: digests,
      digests: true,
    });
  if (version !== undefined) out.push({ kind: "nftTable", owner: "global", family, version, rules });
  return out;
}

/** nft's JSON verdict `{"jump": {"target": "x"}}` as the text hostnet writes: `jump x`. */
function verdictText(v: unknown): string {
  if (typeof v !== "object" || v === null) return String(v);
  const entries: [string, unknown][] = Object.entries(v as Record<string, unknown>);
  const [kind, arg] = entries[0] ?? ["", undefined];
  const target = (arg as { target?: string } | undefined)?.target;
  return target === undefined ? kind : `${kind} ${target}`;
}

/** hostnet's nft tables of both families and their elements. */
export async function observeNft(runner: Runner): Promise<KernelObject[]> {
  return (await Promise.all(nftFamilies.map((family) => observeNftFamily(runner, family)))).flat();
}
