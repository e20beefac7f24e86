/** Reads what hostnet left in a namespace, through the kernel's own JSON. */
import { inNs, must, run } from "./run.js";

export async function linkNames(ns: string): Promise<string[]> {
  const links = JSON.parse(await must(["ip", "-n", ns, "-j", "link", "show"])) as { ifname: string }[];
  return links.map((l) => l.ifname).sort();
}

export interface LinkInfo {
  ifname: string;
  address: string;
  master?: string;
  addr_info: { local: string; prefixlen: number; scope: string }[];
}

export async function link(ns: string, dev: string): Promise<LinkInfo | undefined> {
  const r = await run(["ip", "-n", ns, "-j", "addr", "show", "dev", dev]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as LinkInfo[])[0];
}

/** Every element of every set and map in table inet hostnet, as nft prints them. */
export async function nftElements(ns: string): Promise<string[]> {
  const r = await run(inNs(ns, ["nft", "-j", "list", "table", "inet", "hostnet"]));
  if (r.code !== 0) return [];
  const json = JSON.parse(r.stdout) as { nftables: Record<string, { name?: string; elem?: unknown[] }>[] };
  return json.nftables.flatMap((e) => {
    const set = e["set"] ?? e["map"];
    return (set?.elem ?? []).map((el) => `${set?.name ?? ""} ${JSON.stringify(el)}`);
  });
}

export async function nftTables(ns: string): Promise<string[]> {
  return (await must(inNs(ns, ["nft", "list", "tables"])))
    .trim()
    .split("\n")
    .filter((l) => l !== "");
}

export interface RouteInfo {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** The routes of a namespace's main table. */
export async function routes(ns: string): Promise<RouteInfo[]> {
  return JSON.parse(await must(["ip", "-n", ns, "-j", "route", "show"])) as RouteInfo[];
}

export interface QdiscInfo {
  kind: string;
  root?: boolean;
  options?: { rate?: number };
}

/** The qdiscs of a device, as tc shows them. */
export async function qdiscs(ns: string, dev: string): Promise<QdiscInfo[]> {
  return JSON.parse(await must(inNs(ns, ["tc", "-j", "qdisc", "show", "dev", dev]))) as QdiscInfo[];
}
