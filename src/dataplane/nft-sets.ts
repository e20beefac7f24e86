/**
 * The schema of hostnet's nft tables: which tables there are, every set and map in them, and the types of
 * their elements' key and value parts. The skeleton (render/nft.ts) declares them; observation reads
 * elements back by them. Imports nothing.
 */

/** hostnet's two tables: `inet hostnet` (NAT, forwarding, ACLs) and `bridge hostnet` (anti-spoofing). */
export const nftFamilies = ["inet", "bridge"] as const;
export type NftFamily = (typeof nftFamilies)[number];
export const isNftFamily = (family: string): family is NftFamily =>
  (nftFamilies as readonly string[]).includes(family);

/** One part of an element's key or value, as hostnet writes it; `t` is the part's type in the schema. */
export type ElementPart =
  | { t: "ifname"; v: string }
  | { t: "addr"; v: string }
  | { t: "prefix"; v: string }
  | { t: "proto"; v: string }
  /** A protocol number or range of them, "6" or "0-255". */
  | { t: "protoRange"; v: string }
  /** A port or range of ports, "22" or "1000-2000". */
  | { t: "portRange"; v: string }
  /** A load balancer's slot: the number a new connection draws to pick a backend. */
  | { t: "slot"; v: number }
  | { t: "port"; v: number }
  | { t: "verdict"; v: string }
  | { t: "ether"; v: string };

/**
 * A load-balanced connection draws its backend by rejection sampling: a frontend of N backends holds slots 0
 * to N - 1, and its chain `lb_draw{4,6}_J` (J = drawBits(N), so N > 2^(J-1)) draws below 2^J up to
 * LB_DRAW_TRIES times; a draw of no slot misses the map, which ends that rule, and the next rule draws again
 * (then once below 2^(J-1), render/nft.ts). Each draw hits with a chance above 1/2: uniform over the N
 * backends, and O(1) per new connection. Each try is a rule of every draw chain, and every rule costs each
 * listing of the table (observation).
 */
export const LB_DRAW_TRIES = 8;

/** The bits a frontend of `backends` backends draws: the least J with 2^J >= backends. */
export const drawBits = (backends: number): number => Math.ceil(Math.log2(Math.max(backends, 1)));

/** The chain that draws among 2^bits slots of a frontend of IP family `family`: a VIP's, or a NodePort's. */
export const lbDrawChain = (family: 4 | 6, bits: number, nodePort = false): string =>
  `lb_${nodePort ? "node_" : ""}draw${String(family)}_${String(bits)}`;

/** The sets and maps of hostnet's tables other than the ACL tiers, with the types of their parts. */
const fixedSets = {
  /** NAT subnets whose traffic is masqueraded when it leaves through a non-hostnet interface. */
  masq4: { family: "inet", key: ["prefix"], value: null },
  masq6: { family: "inet", key: ["prefix"], value: null },
  /** bridge . subnet: DNAT'ed traffic from a container to its own bridge is masqueraded (hairpin). */
  hairpin4: { family: "inet", key: ["ifname", "prefix"], value: null },
  hairpin6: { family: "inet", key: ["ifname", "prefix"], value: null },
  /** Bridges of NAT networks: the outside reaches them only through port mappings. */
  natBridges: { family: "inet", key: ["ifname"], value: null },
  /** Bridges of Private and Internal networks: nothing is routed into or out of them. */
  closedBridges: { family: "inet", key: ["ifname"], value: null },
  /** bridge . bridge: containers of one network reach each other. */
  sameBridge: { family: "inet", key: ["ifname", "ifname"], value: null },
  /** proto . port → container address . port, for every local host address. */
  portmap4: { family: "inet", key: ["proto", "port"], value: ["addr", "port"] },
  portmap6: { family: "inet", key: ["proto", "port"], value: ["addr", "port"] },
  /** host address . proto . port → container address . port, for mappings bound to one host address. */
  portmapIp4: { family: "inet", key: ["addr", "proto", "port"], value: ["addr", "port"] },
  portmapIp6: { family: "inet", key: ["addr", "proto", "port"], value: ["addr", "port"] },
  /** Addresses of endpoints with ACL rules for traffic arriving at them (In) or leaving them (Out). */
  aclInRules4: { family: "inet", key: ["addr"], value: null },
  aclInRules6: { family: "inet", key: ["addr"], value: null },
  aclOutRules4: { family: "inet", key: ["addr"], value: null },
  aclOutRules6: { family: "inet", key: ["addr"], value: null },
  /** endpoint address → the source address its outbound traffic is SNAT'ed to (OutBoundNAT). */
  snat4: { family: "inet", key: ["addr"], value: ["addr"] },
  snat6: { family: "inet", key: ["addr"], value: ["addr"] },
  /** endpoint address . destination prefix: traffic that leaves without NAT (OutBoundNAT exceptions). */
  snatExcept4: { family: "inet", key: ["addr", "prefix"], value: null },
  snatExcept6: { family: "inet", key: ["addr", "prefix"], value: null },
  /** Uplink NICs of L2Bridge and L2Tunnel networks, where container MACs are rewritten. */
  l2Uplinks: { family: "bridge", key: ["ifname"], value: null },
  /** uplink → the MAC the LAN sees for every container of an L2Bridge or L2Tunnel network (the uplink's). */
  l2HostMac: { family: "bridge", key: ["ifname"], value: ["ether"] },
  /** uplink . container address → the container's own MAC, for frames from the LAN to that address. */
  l2Macs4: { family: "bridge", key: ["ifname", "addr"], value: ["ether"] },
  /** VIP . proto . port of load balancers reachable from anywhere (and from the host). */
  lbFront4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbFront6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** The same for internal load balancers (ILB): only from containers on the host's networks. */
  lbInternal4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbInternal6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** Frontends of internal load balancers the host reaches too (LocalRoutedVip). */
  lbLocal4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbLocal6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** VIP . proto . port of DSR load balancers: routed to a backend unchanged, let into NAT bridges. */
  lbDsr4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbDsr6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** bridge . address of another host's endpoint on an overlay network (a remote endpoint). */
  overlayRemote4: { family: "inet", key: ["ifname", "addr"], value: null },
  /**
   * overlay bridge → this host's source address on it: connections DNATed to a remote endpoint leave from
   * it, so the remote host sends the replies back here, where conntrack undoes the DNAT.
   */
  overlaySource4: { family: "inet", key: ["ifname"], value: ["addr"] },
  /** VIP → the SourceVIP its connections reach backends from. */
  lbSource4: { family: "inet", key: ["addr"], value: ["addr"] },
  lbSource6: { family: "inet", key: ["addr"], value: ["addr"] },
  /**
   * VIP . proto . port . slot (0 to N - 1 for N backends) → backend address . port. The declaration's
   * modulus only says the slot's type (numgen's 32-bit integer); each draw chain has its own. Each element
   * counts the lookups that hit it, one per new connection (only a connection's first packet is NATed):
   * the connections its backend got from that frontend.
   */
  lbBackends4: {
    family: "inet",
    counter: true,
    key: ["addr", "proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: "typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport;",
  },
  lbBackends6: {
    family: "inet",
    counter: true,
    key: ["addr", "proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: "typeof ip6 daddr . meta l4proto . th dport . numgen random mod 2 : ip6 daddr . th dport;",
  },
  /** VIP . proto . port → `goto` the draw chain of its number of backends (lbDrawChain). */
  lbSpread4: { family: "inet", key: ["addr", "proto", "port"], value: ["verdict"] },
  lbSpread6: { family: "inet", key: ["addr", "proto", "port"], value: ["verdict"] },
  /**
   * proto . port of NodePort load balancers (no VIP): every local address of the host, also one added later,
   * reached from outside and from containers.
   */
  lbNode4: { family: "inet", key: ["proto", "port"], value: null },
  lbNode6: { family: "inet", key: ["proto", "port"], value: null },
  /** The NodePorts the host reaches too (LocalRoutedVIP), on its addresses other than loopback. */
  lbNodeLocal4: { family: "inet", key: ["proto", "port"], value: null },
  lbNodeLocal6: { family: "inet", key: ["proto", "port"], value: null },
  /** As lbBackends and lbSpread, for NodePort frontends, which have no address of their own; counted alike. */
  lbNodeBackends4: {
    family: "inet",
    counter: true,
    key: ["proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: "typeof meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport;",
  },
  lbNodeBackends6: {
    family: "inet",
    counter: true,
    key: ["proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: "typeof meta l4proto . th dport . numgen random mod 2 : ip6 daddr . th dport;",
  },
  lbNodeSpread4: { family: "inet", key: ["proto", "port"], value: ["verdict"] },
  lbNodeSpread6: { family: "inet", key: ["proto", "port"], value: ["verdict"] },
  /** proto . port of a NodePort → the SourceVIP the connections it DNATs reach backends from. */
  lbNodeSource4: { family: "inet", key: ["proto", "port"], value: ["addr"] },
  lbNodeSource6: { family: "inet", key: ["proto", "port"], value: ["addr"] },
  /** Frontends of load balancers without a backend of the family: refused, not black-holed. */
  lbEmpty4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbEmpty6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** host veth . MAC, host veth . address: what each bridge port may send from (anti-spoofing). */
  spoofMac: { family: "bridge", key: ["ifname", "ether"], value: null },
  spoofIp4: { family: "bridge", key: ["ifname", "addr"], value: null },
  spoofIp6: { family: "bridge", key: ["ifname", "addr"], value: null },
  /**
   * host veth . proto . destination . destination ports: the flows `hostnet trace` follows, whose packets the
   * bridge table marks for nftables tracing (dataplane/trace.ts). Empty unless a trace runs.
   */
  trace4: { family: "bridge", key: ["ifname", "proto", "addr", "portRange"], value: null },
  trace6: { family: "bridge", key: ["ifname", "proto", "addr", "portRange"], value: null },
} as const;

/** How many ACL rules of one direction can each overlap the one before (policies/acl-elements.ts). */
export const ACL_TIERS = 16;

export type AclTierSet = `acl${"In" | "Out"}${4 | 6}_${number}`;
export const aclTierSet = (direction: "In" | "Out", family: 4 | 6, tier: number): AclTierSet =>
  `acl${direction}${family}_${tier}`;

/** The IP family of a set's addresses: an ACL tier's is in its name's middle, the others' at its end. */
export const addressFamilyOf = (name: NftSetName): 4 | 6 =>
  (/^acl(?:In|Out)([46])_/.exec(name)?.[1] ?? name.slice(-1)) === "6" ? 6 : 4;

interface SetDefinition {
  readonly family: NftFamily;
  readonly key: readonly ElementPart["t"][];
  readonly value: readonly ElementPart["t"][] | null;
  /** Every element counts the packets and bytes it matched. */
  readonly counter?: true;
  /** The declaration's body when it cannot be said by type alone (nft `typeof`). */
  readonly declaration?: string;
}

/**
 * One tier of ACL rules: endpoint address . protocol . remote prefix . local ports . remote ports →
 * return (Allow) or drop (Block).
 */
const aclTier: SetDefinition = {
  family: "inet",
  key: ["addr", "protoRange", "prefix", "portRange", "portRange"],
  value: ["verdict"],
  counter: true,
};

const aclTierSets: readonly AclTierSet[] = (["In", "Out"] as const).flatMap((direction) =>
  ([4, 6] as const).flatMap((family) =>
    Array.from({ length: ACL_TIERS }, (_, tier) => aclTierSet(direction, family, tier)),
  ),
);

/** Every set and map of hostnet's tables. */
export const nftSetNames: readonly NftSetName[] = [
  ...(Object.keys(fixedSets) as FixedSetName[]),
  ...aclTierSets,
];
const known = new Set<string>(nftSetNames);
export const isNftSetName = (name: string): name is NftSetName => known.has(name);

export const setDefinition = (name: NftSetName): SetDefinition =>
  name in fixedSets ? fixedSets[name as FixedSetName] : aclTier;

type FixedSetName = keyof typeof fixedSets;
export type NftSetName = FixedSetName | AclTierSet;
