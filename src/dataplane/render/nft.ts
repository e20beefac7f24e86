/**
 * hostnet's nftables tables, `inet hostnet` and `bridge hostnet`: fixed skeletons of chains whose rules
 * only look things up in sets and maps, so every network, endpoint, port mapping, ACL rule and load balancer
 * is elements only: no transaction adds a rule or a jump, which would make the kernel re-validate every
 * chain. The skeleton carries its version as the name of an empty chain (nft 1.0's JSON omits table
 * comments); a different version is replaced atomically, elements and all.
 */
import { createHash } from "node:crypto";
import {
  anyBridgeName,
  anyHostVethName,
  elementComment,
  NFT_TABLE,
  NODE_PORT_CT_MARK,
  versionChain,
} from "../naming.js";
import {
  ACL_TIERS,
  aclTierSet,
  addressFamilyOf,
  drawBits,
  LB_DRAW_TRIES,
  lbDrawChain,
  nftSetNames,
  setDefinition,
  type ElementPart,
  type NftFamily,
  type NftSetName,
} from "../nft-sets.js";
import { partsText, ruleDigest, type KernelObject } from "../objects.js";
import type { Op } from "../plan.js";
import { limits } from "../../model/limits.js";
import { runThrough, sliceCounter, type Pass } from "../slices.js";

const table = (family: NftFamily): string => `${family} ${NFT_TABLE}`;

const partType: Record<ElementPart["t"], { 4: string; 6: string }> = {
  ifname: { 4: "ifname", 6: "ifname" },
  addr: { 4: "ipv4_addr", 6: "ipv6_addr" },
  prefix: { 4: "ipv4_addr", 6: "ipv6_addr" },
  proto: { 4: "inet_proto", 6: "inet_proto" },
  protoRange: { 4: "inet_proto", 6: "inet_proto" },
  portRange: { 4: "inet_service", 6: "inet_service" },
  // Only in sets declared by `typeof` (numgen's result has no type name of its own).
  slot: { 4: "integer", 6: "integer" },
  port: { 4: "inet_service", 6: "inet_service" },
  verdict: { 4: "verdict", 6: "verdict" },
  ether: { 4: "ether_addr", 6: "ether_addr" },
};

function setDeclaration(name: NftSetName): string {
  const def = setDefinition(name);
  const kind = def.value === null ? "set" : "map";
  const counter = def.counter === true ? " counter;" : "";
  if (def.declaration !== undefined) return `  ${kind} ${name} { ${def.declaration}${counter} }`;
  const family = addressFamilyOf(name);
  const typeOf = (parts: readonly ElementPart["t"][]): string =>
    parts.map((p) => partType[p][family]).join(" . ");
  const ranges: readonly ElementPart["t"][] = ["prefix", "protoRange", "portRange"];
  const interval = def.key.some((t) => ranges.includes(t)) ? " flags interval;" : "";
  const type = def.value === null ? typeOf(def.key) : `${typeOf(def.key)} : ${typeOf(def.value)}`;
  return `  ${kind} ${name} { type ${type};${interval}${counter} }`;
}

/**
 * The host is the router of its NAT and Overlay bridges: it sends their containers no ICMP redirects (a routed
 * overlay routes a remote subnet back out of the bridge it came in by, and a redirected container would send
 * straight to the remote router, past this host's forward chain and its ACLs). A redirect is related to the
 * connection it is about, so it is dropped before the output chain accepts related packets.
 * A NodePort has no address of its own to key its SourceVIP by: the connections it DNATs carry a conntrack
 * mark bit, and `lbNodeSource` (protocol . original port) SNATs those alone, not a port mapping's or a VIP's
 * of the same port. The mark survives for the connection's life; only its first packet is NATed.
 */
const inetChains = `
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
    ip daddr . meta l4proto . th dport @lbFront4 goto lb_dnat4
    ip6 daddr . meta l4proto . th dport @lbFront6 goto lb_dnat6
    iifname "${anyBridgeName}" ip daddr . meta l4proto . th dport @lbInternal4 goto lb_dnat4
    iifname "${anyBridgeName}" ip6 daddr . meta l4proto . th dport @lbInternal6 goto lb_dnat6
    meta nfproto ipv4 fib daddr type local meta l4proto . th dport @lbNode4 goto lb_node_dnat4
    meta nfproto ipv6 fib daddr type local meta l4proto . th dport @lbNode6 goto lb_node_dnat6
    fib daddr type local jump portmap
  }
  chain nat_output {
    type nat hook output priority -100; policy accept;
    ip daddr . meta l4proto . th dport @lbFront4 goto lb_dnat4
    ip6 daddr . meta l4proto . th dport @lbFront6 goto lb_dnat6
    ip daddr . meta l4proto . th dport @lbLocal4 goto lb_dnat4
    ip6 daddr . meta l4proto . th dport @lbLocal6 goto lb_dnat6
    ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport @lbNodeLocal4 goto lb_node_dnat4
    ip6 daddr != ::1 fib daddr type local meta l4proto . th dport @lbNodeLocal6 goto lb_node_dnat6
    fib daddr type local jump portmap
  }
  chain lb_dnat4 {
    ip daddr . meta l4proto . th dport vmap @lbSpread4
  }
  chain lb_dnat6 {
    ip6 daddr . meta l4proto . th dport vmap @lbSpread6
  }
  chain lb_node_dnat4 {
    ct mark set ct mark or ${NODE_PORT_CT_MARK}
    meta l4proto . th dport vmap @lbNodeSpread4
  }
  chain lb_node_dnat6 {
    ct mark set ct mark or ${NODE_PORT_CT_MARK}
    meta l4proto . th dport vmap @lbNodeSpread6
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 127.0.0.0/8 oifname @natBridges masquerade
    ip6 saddr ::1 oifname @natBridges masquerade
    ct status dnat oifname . ip daddr @overlayRemote4 snat ip to oifname map @overlaySource4
    meta nfproto ipv4 ct status dnat ct mark and ${NODE_PORT_CT_MARK} == ${NODE_PORT_CT_MARK} meta l4proto { tcp, udp } snat ip to meta l4proto . ct original proto-dst map @lbNodeSource4
    meta nfproto ipv6 ct status dnat ct mark and ${NODE_PORT_CT_MARK} == ${NODE_PORT_CT_MARK} meta l4proto { tcp, udp } snat ip6 to meta l4proto . ct original proto-dst map @lbNodeSource6
    meta nfproto ipv4 ct status dnat snat ip to ct original ip daddr map @lbSource4
    meta nfproto ipv6 ct status dnat snat ip6 to ct original ip6 daddr map @lbSource6
    ct status dnat oifname . ip saddr @hairpin4 masquerade
    ct status dnat oifname . ip6 saddr @hairpin6 masquerade
    oifname != @natBridges ip saddr . ip daddr @snatExcept4 accept
    oifname != @natBridges ip6 saddr . ip6 daddr @snatExcept6 accept
    oifname != @natBridges snat ip to ip saddr map @snat4
    oifname != @natBridges snat ip6 to ip6 saddr map @snat6
    ip saddr @masq4 oifname != @natBridges masquerade
    ip6 saddr @masq6 oifname != @natBridges masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ip daddr . meta l4proto . th dport @lbEmpty4 jump lb_reject
    ip6 daddr . meta l4proto . th dport @lbEmpty6 jump lb_reject
    oifname @natBridges jump nat_inbound
    iifname @closedBridges jump closed
    oifname @closedBridges jump closed
    ct state established,related accept
    ip saddr @aclOutRules4 jump acl_out4
    ip6 saddr @aclOutRules6 jump acl_out6
    ip daddr @aclInRules4 jump acl_in4
    ip6 daddr @aclInRules6 jump acl_in6
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ip daddr . meta l4proto . th dport @lbEmpty4 jump lb_reject
    ip6 daddr . meta l4proto . th dport @lbEmpty6 jump lb_reject
    ct state established,related accept
    ip saddr @aclOutRules4 jump acl_out4
    ip6 saddr @aclOutRules6 jump acl_out6
  }
  chain output {
    type filter hook output priority filter; policy accept;
    oifname @natBridges icmp type redirect drop
    ct state established,related accept
    ip daddr @aclInRules4 jump acl_in4
    ip6 daddr @aclInRules6 jump acl_in6
  }
  chain lb_reject {
    meta l4proto tcp reject with tcp reset
    reject with icmpx port-unreachable
  }
  chain closed {
    iifname . oifname @sameBridge return
    drop
  }
  chain nat_inbound {
    ct state established,related return
    ct status dnat return
    ip daddr . meta l4proto . th dport @lbDsr4 return
    ip6 daddr . meta l4proto . th dport @lbDsr6 return
    iifname . oifname @sameBridge return
    drop
  }`;

/**
 * The draw chains of load balancing (nft-sets.ts, LB_DRAW_TRIES): one per family and number of bits J up to
 * what the largest load balancer needs. A frontend of N backends, 2^(J-1) < N <= 2^J, draws below 2^J up to
 * LB_DRAW_TRIES times, then below 2^(J-1), which always hits: spread over half the slots, what that last
 * draw adds to a backend's share is at most 2^-LB_DRAW_TRIES of it. J = 0 and 1 never miss. A fixed few
 * chains: one per load balancer made the kernel re-validate them all at every change.
 */
function drawChain(family: 4 | 6, bits: number, nodePort: boolean): string {
  const ip = family === 4 ? "ip" : "ip6";
  const frontend = nodePort ? "meta l4proto . th dport" : `${ip} daddr . meta l4proto . th dport`;
  const map = `${nodePort ? "lbNodeBackends" : "lbBackends"}${String(family)}`;
  const draw = (modulus: number): string =>
    `    meta l4proto { tcp, udp } dnat ${ip} to ${frontend} . numgen random mod ${String(modulus)} map @${map}`;
  const rules =
    bits <= 1
      ? [draw(2 ** bits)]
      : [...Array.from({ length: LB_DRAW_TRIES }, () => draw(2 ** bits)), draw(2 ** (bits - 1))];
  return `  chain ${lbDrawChain(family, bits, nodePort)} {\n${rules.join("\n")}\n  }`;
}

const drawChains = [false, true]
  .flatMap((nodePort) =>
    ([4, 6] as const).flatMap((family) =>
      Array.from({ length: drawBits(limits.lbBackends) + 1 }, (_, bits) => drawChain(family, bits, nodePort)),
    ),
  )
  .join("\n");

/**
 * A flow `hostnet trace` follows is marked for nftables tracing first: this is the first of hostnet's chains
 * that does anything to what an endpoint sends (l2_inbound, earlier, only to what an uplink receives), and
 * the mark stays with the packet through the inet table's hooks. A lookup in an empty set costs the other
 * traffic little, where a chain of its own would cost every bridged frame one more hook.
 * Anti-spoofing on every port of hostnet's bridges: a container may send only from its own MAC and
 * addresses (link-local and unspecified IPv6 sources for neighbour discovery, 0.0.0.0 for a DHCP client
 * that has no lease yet), and only IPv4, IPv6 and ARP.
 * L2Bridge and L2Tunnel: what containers send out of the uplink leaves with the uplink's MAC (in the frame
 * and in ARP), and what the LAN sends to their addresses is given their own MAC back before the bridge looks
 * it up. Their protocol is `meta protocol`'s, not `ether type`: on a bridge that filters VLANs (modes.md) a
 * frame's tag is out of its data but `ether type` reads 0x8100 there, in the LAN's tagged frames and in every
 * forwarded one. Anti-spoofing keeps `ether type`: a container's frame has no tag then but one it wrote itself,
 * which is dropped.
 */
const bridgeChains = `
  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    ether type ip iifname . meta l4proto . ip daddr . th dport @trace4 meta nftrace set 1
    ether type ip6 iifname . meta l4proto . ip6 daddr . th dport @trace6 meta nftrace set 1
    iifname "${anyHostVethName}" jump antispoof
  }
  chain antispoof {
    iifname . ether saddr != @spoofMac drop
    ether type != { ip, ip6, arp } drop
    ether type arp iifname . arp saddr ether != @spoofMac drop
    ether type arp arp saddr ip 0.0.0.0 return
    ether type arp iifname . arp saddr ip != @spoofIp4 drop
    ether type ip ip saddr 0.0.0.0 udp sport 68 udp dport 67 return
    ether type ip iifname . ip saddr != @spoofIp4 drop
    ether type ip6 ip6 saddr { ::, fe80::/10 } return
    ether type ip6 iifname . ip6 saddr != @spoofIp6 drop
  }
  chain l2_inbound {
    type filter hook prerouting priority dstnat; policy accept;
    iifname @l2Uplinks meta protocol ip ether daddr set iifname . ip daddr map @l2Macs4
    iifname @l2Uplinks meta protocol arp ether daddr set iifname . arp daddr ip map @l2Macs4 arp daddr ether set iifname . arp daddr ip map @l2Macs4
  }
  chain l2_outbound {
    type filter hook forward priority filter; policy accept;
    iifname "${anyHostVethName}" oifname @l2Uplinks ether saddr set oifname map @l2HostMac
    iifname "${anyHostVethName}" oifname @l2Uplinks meta protocol arp arp saddr ether set oifname map @l2HostMac
  }`;

/**
 * The ACL tiers of one direction and family, first to last, then the default Block
 * (policies/acl-elements.ts). The key is always endpoint address . protocol . remote address . local port .
 * remote port.
 */
function aclChain(direction: "In" | "Out", family: 4 | 6): string {
  const ip = family === 4 ? "ip" : "ip6";
  const [self, remote, localPort, remotePort] =
    direction === "In" ? ["daddr", "saddr", "dport", "sport"] : ["saddr", "daddr", "sport", "dport"];
  const key = `${ip} ${self} . meta l4proto . ${ip} ${remote} . th ${localPort} . th ${remotePort}`;
  const tiers = Array.from(
    { length: ACL_TIERS },
    (_, tier) => `    ${key} vmap @${aclTierSet(direction, family, tier)}`,
  );
  return `  chain acl_${direction.toLowerCase()}${family} {\n${tiers.join("\n")}\n    drop\n  }`;
}

const aclChains = (["In", "Out"] as const)
  .flatMap((direction) => ([4, 6] as const).map((family) => aclChain(direction, family)))
  .join("\n");

function skeleton(family: NftFamily, version: string): string {
  const sets = nftSetNames
    .filter((name) => setDefinition(name).family === family)
    .map((name) => setDeclaration(name))
    .join("\n");
  const chains = family === "inet" ? `${inetChains}\n${drawChains}\n${aclChains}` : bridgeChains;
  return `table ${table(family)} {\n  chain ${versionChain(version)} {\n  }\n${sets}\n${chains}\n}`;
}

/** How many rules a table's skeleton has: a flushed table (`nft flush table`) keeps its chains, not its rules. */
export const skeletonRules = (family: NftFamily): number =>
  skeleton(family, "")
    .split("\n")
    .filter((line) => /^ {4}\S/.test(line) && !line.startsWith("    type ")).length;

export const skeletonVersion = (): string =>
  createHash("sha256")
    .update(skeleton("inet", "") + skeleton("bridge", ""))
    .digest("hex")
    .slice(0, 12);

function elementText(o: Extract<KernelObject, { kind: "nftElement" }>, withValue: boolean): string {
  const value = withValue && o.value !== null ? ` : ${partsText(o.value)}` : "";
  const comment = withValue ? ` comment "${elementComment(o.owner, o.label)}"` : "";
  return `{ ${partsText(o.key)}${comment}${value} }`;
}

/**
 * Where a line goes in the plan's one nft transaction, whatever the order of the plan's ops: what refers to a
 * chain or set (a rule, an element's verdict) goes before the chain or set goes, and comes after it comes,
 * since the kernel refuses to delete a chain or set still referred to.
 */
const nftPhase = {
  table: 0,
  flushChain: 1,
  deleteElement: 2,
  deleteChain: 3,
  deleteSet: 4,
  addSet: 5,
  addChain: 6,
  addRule: 7,
  addElement: 8,
} as const;

export interface NftLine {
  readonly phase: (typeof nftPhase)[keyof typeof nftPhase];
  readonly text: string;
}

const at =
  (phase: NftLine["phase"]) =>
  (text: string): NftLine => ({ phase, text });

/** A chain's rules, each with its digest as its comment (objects.ts ruleDigest), after emptying it. */
function chainRules(o: Extract<KernelObject, { kind: "nftChain" }>): NftLine[] {
  const chain = `${table(o.family)} ${o.name}`;
  return [
    `flush chain ${chain}`,
    ...o.rules.map((rule) => `add rule ${chain} ${rule} comment "${ruleDigest(rule)}"`),
  ].map(at(nftPhase.addRule));
}

/** nft -f lines for one op, each with its place in the transaction; a plan's lines run as one transaction. */
export function nftLines(op: Op): NftLine[] {
  const o = op.object;
  if (o.kind === "nftTable") {
    const t = table(o.family);
    if (op.action === "delete") return [at(nftPhase.table)(`delete table ${t}`)];
    // "add" first makes the delete valid whether or not the table exists.
    return [`add table ${t}`, `delete table ${t}`, skeleton(o.family, o.version)].map(at(nftPhase.table));
  }
  if (o.kind === "nftSet") {
    const set = `${table(o.family)} ${o.name}`;
    const add = at(nftPhase.addSet)(`add set ${set} { ${o.declaration} }`);
    const del = at(nftPhase.deleteSet)(`delete set ${set}`);
    return op.action === "delete" ? [del] : op.action === "replace" ? [del, add] : [add];
  }
  if (o.kind === "nftChain") {
    const chain = `${table(o.family)} ${o.name}`;
    const flush = at(nftPhase.flushChain)(`flush chain ${chain}`);
    if (op.action === "delete") return [flush, at(nftPhase.deleteChain)(`delete chain ${chain}`)];
    if (op.action === "replace") return [flush, ...chainRules(o).slice(1)];
    return [at(nftPhase.addChain)(`add chain ${chain}`), ...chainRules(o)];
  }
  if (o.kind !== "nftElement") return [];
  const set = `${table(setDefinition(o.set).family)} ${o.set}`;
  const del = at(nftPhase.deleteElement)(`delete element ${set} ${elementText(o, false)}`);
  if (op.action === "delete") return [del];
  const add = at(nftPhase.addElement)(`add element ${set} ${elementText(o, true)}`);
  return op.action === "replace" ? [del, add] : [add];
}

/** An element line of nftLines: its verb, its set (`family table name`) and the element between braces. */
const ELEMENT_LINE = /^(add|delete) element (\S+ \S+ \S+) \{ (.*) \}$/;

/**
 * The input of one `nft -f` transaction for a plan's lines, which come in the order of their phases
 * (nftPhase, render/steps.ts): each run of element lines becomes each set's deletes as one command, then each
 * set's adds, in the run's place; every other line stays as it is. nft parses and evaluates a command of
 * many elements several times faster than as many commands of one (100,000 elements: 3.8 s against 10.5 s).
 * A run is one phase's element lines, or the element deletes and then the adds when no line of a phase
 * between them separates them, so the order stays valid: no element line moves past a chain's or set's
 * line, a plan deletes or adds an element at most once, a replace deletes before it adds, and no element
 * line needs another.
 */
export function nftScript(lines: readonly string[]): string {
  return runThrough(nftScriptPass(lines));
}

/** nftScript, pausing between slices of lines (slices.ts). */
export function* nftScriptPass(lines: readonly string[]): Pass<string> {
  const due = sliceCounter();
  const out: string[] = [];
  const run = { delete: new Map<string, string[]>(), add: new Map<string, string[]>() };
  const endRun = (): void => {
    for (const verb of ["delete", "add"] as const) {
      for (const [set, each] of run[verb]) out.push(`${verb} element ${set} { ${each.join(", ")} }`);
      run[verb].clear();
    }
  };
  for (const line of lines) {
    if (due()) yield;
    const m = ELEMENT_LINE.exec(line);
    if (m === null) {
      endRun();
      out.push(line);
      continue;
    }
    const [, verb = "", set = "", element = ""] = m;
    const bySet = verb === "add" ? run.add : run.delete;
    const of = bySet.get(set);
    if (of === undefined) bySet.set(set, [element]);
    else of.push(element);
  }
  endRun();
  return `${out.join("\n")}\n`;
}
