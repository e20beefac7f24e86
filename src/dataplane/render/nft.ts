/**
 * hostnet's one nftables table, `inet hostnet`: a fixed skeleton of chains whose rules only look things
 * up in sets and maps, so every network, endpoint and port mapping is one element (O(1) to add or
 * remove). The skeleton carries its version as the name of an empty chain (nft 1.0's JSON omits table
 * comments); a different version is replaced atomically, elements and all.
 */
import { createHash } from "node:crypto";
import { NFT_FAMILY, NFT_TABLE, nftSets, type NftSetName } from "../naming.js";
import { partsText, type ElementPart, type KernelObject } from "../objects.js";
import type { Op } from "../plan.js";

const T = `${NFT_FAMILY} ${NFT_TABLE}`;
export const VERSION_CHAIN_PREFIX = "version_";

const partType: Record<ElementPart["t"], { 4: string; 6: string }> = {
  ifname: { 4: "ifname", 6: "ifname" },
  addr: { 4: "ipv4_addr", 6: "ipv6_addr" },
  prefix: { 4: "ipv4_addr", 6: "ipv6_addr" },
  proto: { 4: "inet_proto", 6: "inet_proto" },
  port: { 4: "inet_service", 6: "inet_service" },
  verdict: { 4: "verdict", 6: "verdict" },
};

function setDeclaration(name: NftSetName): string {
  const def = nftSets[name];
  const family = name.endsWith("6") ? 6 : 4;
  const typeOf = (parts: readonly ElementPart["t"][]): string =>
    parts.map((p) => partType[p][family]).join(" . ");
  const interval = (def.key as readonly string[]).includes("prefix") ? " flags interval;" : "";
  const kind = def.value === null ? "set" : "map";
  const type = def.value === null ? typeOf(def.key) : `${typeOf(def.key)} : ${typeOf(def.value)}`;
  return `  ${kind} ${name} { type ${type};${interval} }`;
}

const chains = `
  chain guard {
    type filter hook prerouting priority raw; policy accept;
    iifname != "lo" ip daddr 127.0.0.0/8 drop
    iifname != "lo" ip6 daddr ::1 drop
  }
  chain portmap {
    ip6 daddr ::1 return
    meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @portmapIp4
    meta nfproto ipv4 dnat ip to meta l4proto . th dport map @portmap4
    meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @portmapIp6
    meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @portmap6
  }
  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump portmap
  }
  chain nat_output {
    type nat hook output priority -100; policy accept;
    fib daddr type local jump portmap
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 127.0.0.0/8 oifname "hnb-*" masquerade
    ip6 saddr ::1 oifname "hnb-*" masquerade
    ct status dnat oifname . ip saddr @hairpin4 masquerade
    ct status dnat oifname . ip6 saddr @hairpin6 masquerade
    ip saddr @masq4 oifname != "hnb-*" masquerade
    ip6 saddr @masq6 oifname != "hnb-*" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    oifname @natBridges jump nat_inbound
    ct state established,related accept
    ip saddr vmap @aclOut4
    ip6 saddr vmap @aclOut6
    ip daddr vmap @aclIn4
    ip6 daddr vmap @aclIn6
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established,related accept
    ip saddr vmap @aclOut4
    ip6 saddr vmap @aclOut6
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state established,related accept
    ip daddr vmap @aclIn4
    ip6 daddr vmap @aclIn6
  }
  chain nat_inbound {
    ct state established,related return
    ct status dnat return
    iifname . oifname @sameBridge return
    drop
  }`;

function skeleton(version: string): string {
  const sets = (Object.keys(nftSets) as NftSetName[]).map(setDeclaration).join("\n");
  return `table ${T} {\n  chain ${VERSION_CHAIN_PREFIX}${version} {\n  }\n${sets}\n${chains}\n}`;
}

export const skeletonVersion = createHash("sha256").update(skeleton("")).digest("hex").slice(0, 12);

function elementText(o: Extract<KernelObject, { kind: "nftElement" }>, withValue: boolean): string {
  const value = withValue && o.value !== null ? ` : ${partsText(o.value)}` : "";
  const comment = withValue ? ` comment "${o.owner}"` : "";
  return `{ ${partsText(o.key)}${comment}${value} }`;
}

/** nft -f lines for one op; all of a plan's lines run as one atomic transaction. */
export function nftLines(op: Op): string[] {
  const o = op.object;
  if (o.kind === "nftTable") {
    if (op.action === "delete") return [`delete table ${T}`];
    // "add" first makes the delete valid whether or not the table exists.
    return [`add table ${T}`, `delete table ${T}`, skeleton(o.version)];
  }
  if (o.kind === "nftChain") {
    if (op.action === "delete") return [`delete chain ${T} ${o.name}`];
    return [`add chain ${T} ${o.name}`, ...o.rules.map((r) => `add rule ${T} ${o.name} ${r}`)];
  }
  if (o.kind !== "nftElement") return [];
  if (op.action === "delete") return [`delete element ${T} ${o.set} ${elementText(o, false)}`];
  const add = `add element ${T} ${o.set} ${elementText(o, true)}`;
  return op.action === "replace" ? [`delete element ${T} ${o.set} ${elementText(o, false)}`, add] : [add];
}
