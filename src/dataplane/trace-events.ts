/**
 * nftables trace events (`nft monitor`'s `trace id …` lines) read in hostnet's terms: which of its chains a
 * packet went through, which rule gave which verdict, and what that rule is for (render/nft.ts). A rule that
 * looks a packet up in a map only says the map's name; the element it found, whose comment names its owner
 * (an ACL's endpoint, a port mapping's, a load balancer) and whose value is what it translates to, is asked
 * of the kernel by its key, made from the packet as the event shows it. Pure.
 */
import { NFT_TABLE, parseElementComment, type Owner } from "./naming.js";

/** The packet as the first event of a hook shows it: `iif`, `oif`, `ip saddr`, `tcp dport`, … */
export type PacketFields = ReadonlyMap<string, string>;

export interface TraceEvent {
  readonly id: string;
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  /** A packet's headers at a hook, a rule that gave a verdict, or a base chain's policy. */
  readonly type: "packet" | "rule" | "policy";
  /** The rule's text, without its comment. */
  readonly rule?: string;
  /** `accept`, `drop`, `continue`, `jump acl_in4`, `return`, … */
  readonly verdict?: string;
  readonly packet?: PacketFields;
}

const EVENT = /^trace id (\S+) (\S+) (\S+) (\S+) (packet: |rule |policy |verdict )(.*)$/;

/** The fields of a `packet:` event: `iif "hnv-1" ether saddr … ip saddr 10.0.0.2 … tcp dport 80 …`. */
function packetFields(text: string): PacketFields {
  const words = text.trim().split(/\s+/);
  const fields = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? "";
    if (word === "iif" || word === "oif") {
      fields.set(word, (words[i + 1] ?? "").replace(/"/g, ""));
      i++;
    } else if (/^(?:ip|ip6|tcp|udp|icmp|icmpv6|ether)$/.test(word)) {
      const what = words[i + 1] ?? "";
      fields.set(`${word} ${what}`, (words[i + 2] ?? "").replace(/"/g, ""));
      i += 2;
    }
  }
  return fields;
}

/** One line of `nft monitor`, if it is a trace event of hostnet's tables. */
export function parseTraceLine(line: string): TraceEvent | undefined {
  const m = EVENT.exec(line.trim());
  if (m === null) return undefined;
  const [, id = "", family = "", table = "", chain = "", kind = "", rest = ""] = m;
  if (table !== NFT_TABLE) return undefined;
  const base = { id, family, table, chain };
  if (kind === "packet: ") return { ...base, type: "packet", packet: packetFields(rest) };
  if (kind === "policy ") return { ...base, type: "policy", verdict: rest.trim() };
  if (kind === "verdict ") return { ...base, type: "rule", verdict: rest.trim() };
  const r = /^(.*?)(?: comment "[^"]*")? \(verdict ([^)]*)\)\s*$/.exec(rest);
  if (r === null) return { ...base, type: "rule", rule: rest.trim() };
  return { ...base, type: "rule", rule: r[1] ?? "", verdict: r[2] ?? "" };
}

/**
 * Whether an event begins a packet of the flow from host veth `veth` to `destination`: a packet's trace
 * begins at the bridge table's prerouting hook (the trace rule, render/nft.ts).
 */
export function startsPacket(e: TraceEvent, veth: string, destination: string): boolean {
  return (
    e.type === "packet" &&
    e.family === "bridge" &&
    e.chain === "prerouting" &&
    e.packet?.get("iif") === veth &&
    (e.packet.get("ip daddr") ?? e.packet.get("ip6 daddr")) === destination
  );
}

/**
 * The events of the first packet of a flow from host veth `veth`: the next packet of the flow (a
 * retransmitted SYN) begins at the bridge table's prerouting hook again. Another trace's packets come in
 * from another veth, or go elsewhere.
 */
export function firstPacket(events: readonly TraceEvent[], veth: string, destination: string): TraceEvent[] {
  const starts = (e: TraceEvent): boolean => startsPacket(e, veth, destination);
  const first = events.findIndex(starts);
  if (first < 0) return [];
  const next = events.findIndex((e, i) => i > first && starts(e));
  return events.slice(first, next < 0 ? undefined : next);
}

/** The selectors of hostnet's map keys, and the packet field each reads (ICMP has no ports: 0). */
const SELECTORS: Readonly<Record<string, (p: PacketFields) => string | undefined>> = {
  "ip saddr": (p) => p.get("ip saddr"),
  "ip daddr": (p) => p.get("ip daddr"),
  "ip6 saddr": (p) => p.get("ip6 saddr"),
  "ip6 daddr": (p) => p.get("ip6 daddr"),
  "meta l4proto": (p) => p.get("ip protocol") ?? p.get("ip6 nexthdr"),
  "th sport": (p) => p.get("tcp sport") ?? p.get("udp sport") ?? "0",
  "th dport": (p) => p.get("tcp dport") ?? p.get("udp dport") ?? "0",
  iifname: (p) => p.get("iif"),
  oifname: (p) => p.get("oif"),
};

const SELECTOR = Object.keys(SELECTORS).join("|");
const LOOKUP = new RegExp(`((?:${SELECTOR})(?: \\. (?:${SELECTOR}))*) (?:v?map )?@(\\w+)`);

/** An element a rule found in a map: the map's family and name, and its key as `nft get element` takes it. */
export interface ElementQuery {
  readonly family: string;
  readonly set: string;
  readonly key: string;
}

/** The element the kernel has for a query's key: its comment, and its value in a map (`192.0.2.10`). */
export interface FoundElement {
  readonly comment: string;
  readonly value?: string;
}

/** The element a rule's event found in a map, from the packet the hook saw; undefined if it looked none up. */
export function elementQuery(event: TraceEvent, packet: PacketFields | undefined): ElementQuery | undefined {
  if (event.rule === undefined || packet === undefined) return undefined;
  const m = LOOKUP.exec(event.rule);
  if (m === null) return undefined;
  // Interface names are quoted in a key, as in a rule.
  const parts = (m[1] ?? "").split(" . ").map((selector) => {
    const value = SELECTORS[selector]?.(packet);
    return value === undefined || !selector.endsWith("ifname") ? value : `"${value}"`;
  });
  if (parts.some((p) => p === undefined)) return undefined;
  return { family: event.family, set: m[2] ?? "", key: parts.join(" . ") };
}

/** What hostnet did to a traced packet, step by step; `owner` and `label` as the element's comment names them. */
export type TraceHop =
  | { readonly kind: "antispoof"; readonly check: string }
  | { readonly kind: "loopbackGuard" }
  | { readonly kind: "portMapping"; readonly owner?: Owner; readonly label?: string }
  | { readonly kind: "loadBalancer"; readonly owner?: Owner }
  /** `owner`: the load balancer whose frontend it is. */
  | { readonly kind: "noBackend"; readonly owner?: Owner }
  | { readonly kind: "translated"; readonly to: string }
  | {
      readonly kind: "acl";
      readonly direction: "In" | "Out";
      readonly verdict: "Allow" | "Block";
      readonly owner?: Owner;
      readonly label?: string;
    }
  /** `address`: the endpoint's, whose rules none matched. */
  | { readonly kind: "aclDefault"; readonly direction: "In" | "Out"; readonly address: string }
  | { readonly kind: "isolation"; readonly into: string }
  | { readonly kind: "closed"; readonly iif: string; readonly oif: string }
  /** `to`: the address it was masqueraded to, which only its connection's reply tuple shows. */
  | { readonly kind: "masquerade"; readonly oif: string; readonly to?: string }
  /** `to`: the source address OutBoundNAT translated to, `owner` the endpoint whose policy it is. */
  | { readonly kind: "snat"; readonly oif: string; readonly to?: string; readonly owner?: Owner }
  | { readonly kind: "left"; readonly oif: string }
  | { readonly kind: "delivered"; readonly to: "host" }
  | { readonly kind: "bridged"; readonly oif: string };

/** Why the bridge table's antispoof chain dropped a frame, by its rule (render/nft.ts). */
function spoofCheck(rule: string): string {
  if (rule.includes("ether saddr")) return "source MAC";
  if (rule.startsWith("ether type !=")) return "EtherType";
  if (rule.includes("arp saddr ether")) return "ARP sender MAC";
  if (rule.includes("arp saddr ip")) return "ARP sender address";
  if (rule.includes("ip6 saddr")) return "IPv6 source address";
  return "IPv4 source address";
}

/** A packet's destination address, and port for TCP and UDP: `10.0.0.2:80`, `[fd00::2]:80`. */
function destinationOf(p: PacketFields | undefined): string | undefined {
  const v4 = p?.get("ip daddr");
  const address = v4 ?? p?.get("ip6 daddr");
  if (address === undefined) return undefined;
  const port = p?.get("tcp dport") ?? p?.get("udp dport");
  if (port === undefined) return address;
  return v4 === undefined ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The verdict of the whole trace: what happened to the packet in the end. */
export interface TracePath {
  readonly hops: readonly TraceHop[];
  /** Dropped by the last hop, or passed every hook it met. */
  readonly dropped: boolean;
}

/**
 * Where the packet went at last, if no rule dropped it. A frame the bridge forwarded from one port to another
 * stayed on its bridge: the bridge table's forward hook saw its port. br_netfilter shows it to the inet
 * table's hooks too, but with the bridge as its interface, so that port is the more exact answer.
 */
function lastHop(events: readonly TraceEvent[]): TraceHop | undefined {
  const packets = events.filter((e) => e.type === "packet");
  const port = packets.findLast((e) => e.family === "bridge" && e.packet?.has("oif") === true);
  const portOif = port?.packet?.get("oif");
  if (portOif !== undefined) return { kind: "bridged", oif: portOif };
  const last = packets.at(-1);
  const oif = last?.packet?.get("oif");
  if (oif !== undefined) return { kind: "left", oif };
  return last?.family === "inet" ? { kind: "delivered", to: "host" } : undefined;
}

/**
 * The first packet's path in hostnet's terms. `lookup(query)`: the element the kernel has for that key, if
 * any.
 */
export function tracePath(
  events: readonly TraceEvent[],
  lookup: (q: ElementQuery) => FoundElement | undefined,
): TracePath {
  const hops: TraceHop[] = [];
  let packet: PacketFields | undefined;
  let dropped = false;
  let lastDestination: string | undefined;
  const found = (event: TraceEvent): FoundElement | undefined => {
    const q = elementQuery(event, packet);
    return q === undefined ? undefined : lookup(q);
  };
  const owned = (event: TraceEvent): { owner?: Owner; label?: string } => {
    const c = parseElementComment(found(event)?.comment);
    return c === undefined
      ? {}
      : c.label === undefined
        ? { owner: c.owner }
        : { owner: c.owner, label: c.label };
  };
  for (const e of events) {
    if (e.type === "packet") {
      packet = e.packet;
      const destination = destinationOf(packet);
      // A hook after NAT sees the translated packet: what the last translation made of it.
      if (lastDestination !== undefined && destination !== undefined && destination !== lastDestination)
        hops.push({ kind: "translated", to: destination });
      lastDestination = destination ?? lastDestination;
      continue;
    }
    const rule = e.rule ?? "";
    const verdict = e.verdict ?? "";
    if (verdict === "drop") dropped = true;
    const chain = `${e.family} ${e.chain}`;
    if (chain === "bridge antispoof" && verdict === "drop")
      hops.push({ kind: "antispoof", check: spoofCheck(rule) });
    else if (chain === "inet guard" && verdict === "drop") hops.push({ kind: "loopbackGuard" });
    else if (chain === "inet portmap" && rule.includes("dnat"))
      hops.push({ kind: "portMapping", ...owned(e) });
    else if (/^inet lb_(?:node_)?dnat[46]$/.test(chain) && rule.includes("vmap"))
      hops.push({ kind: "loadBalancer", ...owned(e) });
    else if (verdict === "jump lb_reject") hops.push({ kind: "noBackend", ...owned(e) });
    else if (/^inet acl_(?:in|out)[46]$/.test(chain)) {
      const direction = e.chain.startsWith("acl_in") ? "In" : "Out";
      if (rule === "drop") {
        const side = direction === "In" ? "daddr" : "saddr";
        const address = packet?.get(`ip ${side}`) ?? packet?.get(`ip6 ${side}`) ?? "";
        hops.push({ kind: "aclDefault", direction, address });
      } else {
        const { owner, label } = owned(e);
        hops.push({
          kind: "acl",
          direction,
          verdict: verdict === "drop" ? "Block" : "Allow",
          ...(owner === undefined ? {} : { owner }),
          ...(label === undefined ? {} : { label }),
        });
      }
    } else if (chain === "inet nat_inbound" && verdict === "drop")
      hops.push({ kind: "isolation", into: packet?.get("oif") ?? "" });
    else if (chain === "inet closed" && verdict === "drop")
      hops.push({ kind: "closed", iif: packet?.get("iif") ?? "", oif: packet?.get("oif") ?? "" });
    else if (chain === "inet nat_postrouting" && rule.includes("masquerade"))
      hops.push({ kind: "masquerade", oif: packet?.get("oif") ?? "" });
    else if (chain === "inet nat_postrouting" && rule.includes("snat")) {
      const to = found(e)?.value;
      const { owner } = owned(e);
      hops.push({
        kind: "snat",
        oif: packet?.get("oif") ?? "",
        ...(to === undefined ? {} : { to }),
        ...(owner === undefined ? {} : { owner }),
      });
    }
    if (verdict === "drop") break;
  }
  const last = dropped ? undefined : lastHop(events);
  return { hops: last === undefined ? hops : [...hops, last], dropped };
}

/** conntrack's names of the protocols nft's packet events name. */
const conntrackProtocols: Readonly<Record<string, string>> = {
  tcp: "tcp",
  udp: "udp",
  icmp: "icmp",
  "ipv6-icmp": "icmpv6",
};

/**
 * The `conntrack -L` options that find the connection a packet began, by its original tuple as the packet's
 * first event shows it; undefined for a packet conntrack cannot be asked about so.
 */
export function conntrackFilter(p: PacketFields): string[] | undefined {
  const v4 = p.get("ip saddr") !== undefined;
  const source = p.get("ip saddr") ?? p.get("ip6 saddr");
  const destination = p.get("ip daddr") ?? p.get("ip6 daddr");
  const protocol = conntrackProtocols[p.get("ip protocol") ?? p.get("ip6 nexthdr") ?? ""];
  if (source === undefined || destination === undefined || protocol === undefined) return undefined;
  const sport = p.get("tcp sport") ?? p.get("udp sport");
  const dport = p.get("tcp dport") ?? p.get("udp dport");
  const icmpId = p.get("icmp id") ?? p.get("icmpv6 id");
  return [
    ...["-f", v4 ? "ipv4" : "ipv6", "-p", protocol, "-s", source, "-d", destination],
    ...(sport === undefined || dport === undefined ? [] : ["--sport", sport, "--dport", dport]),
    ...(icmpId === undefined ? [] : [protocol === "icmpv6" ? "--icmpv6-id" : "--icmp-id", icmpId]),
  ];
}

/**
 * Where a connection's replies go, from its `conntrack -L` line (original tuple, then reply tuple): the
 * address its source was translated to.
 */
export function replyDestination(line: string): string | undefined {
  return [...line.matchAll(/\bdst=(\S+)/g)][1]?.[1];
}
