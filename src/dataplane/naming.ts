/**
 * Every kernel name, alias and tag hostnet uses is made here, and only here: that is how the reconciler
 * recognises what it owns and leaves everything else alone.
 */
import type { ElementPart, Owner } from "./objects.js";

/** Where named network namespaces live, as iproute2 keeps them. */
export const NETNS_DIR = "/run/netns";
export const NFT_TABLE = "hostnet";
/**
 * How many numbers nft draws from for each new load-balanced connection; backends split them evenly, so a
 * load balancer has at most this many. Exact keys in a hash map: an interval map (one range per backend)
 * costs the kernel time in proportion to all its elements at every delete.
 */
export const LB_SLOTS = 64;
/**
 * How long a client keeps its backend after its last new connection unless hostnetd is told otherwise
 * (`--lb-affinity-timeout`): Kubernetes' default for ClientIP affinity.
 */
export const LB_AFFINITY_SECONDS = 10800;
/** The routing protocol number that marks hostnet's DSR routes (`ip route … proto 211`). */
export const DSR_ROUTE_PROTO = 211;
/** The label of a DSR VIP on a backend's lo: lo's alias marks the namespace, not its addresses. */
export const DSR_VIP_LABEL = "lo:hostnet";

/** hostnet's two tables: `inet hostnet` (NAT, forwarding, ACLs) and `bridge hostnet` (anti-spoofing). */
export const nftFamilies = ["inet", "bridge"] as const;
export type NftFamily = (typeof nftFamilies)[number];
export const BRIDGE_PREFIX = "hnb-";
export const VETH_PREFIX = "hnv-";
export const IFB_PREFIX = "hni-";
export const VXLAN_PREFIX = "hnx-";
/**
 * The container end of a veth handed off to a runtime, until the runtime moves it. It carries no alias and
 * is not an owned name: it lives and dies with its host end, which is.
 */
export const HANDOFF_PREFIX = "hnc-";
/** Links and namespaces hostnet made carry this alias prefix followed by their owner. */
export const ALIAS_PREFIX = "hostnet:";

export const bridgeName = (shortId: string): string => `${BRIDGE_PREFIX}${shortId}`;
export const hostVethName = (shortId: string): string => `${VETH_PREFIX}${shortId}`;
export const handoffVethName = (shortId: string): string => `${HANDOFF_PREFIX}${shortId}`;
/** The ifb device that shapes what an endpoint sends (traffic entering its host veth is redirected there). */
export const ifbName = (shortId: string): string => `${IFB_PREFIX}${shortId}`;
/** The VXLAN port of an overlay network's bridge. */
export const vxlanName = (shortId: string): string => `${VXLAN_PREFIX}${shortId}`;

/**
 * The MAC of an overlay network's bridge, fixed by the network's id: a bridge takes the lowest MAC of its
 * ports unless it has its own, and a change of MAC flushes its neighbour table, peers' permanent entries
 * included. In a routed overlay it is this host's router for the network: other hosts' RemoteSubnetRoute
 * policies name it (HNS's DrMacAddress).
 */
export const overlayBridgeMac = (networkId: string): string =>
  `02:68:6e:${networkId.slice(0, 2)}:${networkId.slice(2, 4)}:${networkId.slice(4, 6)}`;

export const aliasOf = (owner: Owner): string => `${ALIAS_PREFIX}${owner}`;

/** The alias of a namespace's lo: its owner and the hostnetd (state directory) that made it. */
export const namespaceAlias = (owner: Owner, instance: string): string => `${aliasOf(owner)}@${instance}`;

/**
 * The owner and maker a namespace's lo alias names; `instance` is undefined for namespaces made before
 * hostnet marked its instance, which are taken for this hostnetd's.
 */
export function namespaceMark(alias: string | undefined): { owner: Owner; instance?: string } | undefined {
  const m = /^hostnet:(ns:[0-9a-f-]{36})(?:@([0-9a-f]+))?$/.exec(alias ?? "");
  if (m?.[1] === undefined) return undefined;
  const owner = m[1] as Owner;
  return m[2] === undefined ? { owner } : { owner, instance: m[2] };
}

/** The owner an alias names, or undefined when the alias is not hostnet's. */
export function ownerFromAlias(alias: string | undefined): Owner | undefined {
  if (alias?.startsWith(ALIAS_PREFIX) !== true) return undefined;
  const owner = alias.slice(ALIAS_PREFIX.length);
  return /^(net|ep|ns):[0-9a-f-]{36}$/.test(owner) ? (owner as Owner) : undefined;
}

export const isOwnedLinkName = (name: string): boolean =>
  name.startsWith(BRIDGE_PREFIX) ||
  name.startsWith(VETH_PREFIX) ||
  name.startsWith(IFB_PREFIX) ||
  name.startsWith(VXLAN_PREFIX);

/** nft sets and maps of table inet hostnet, with the types of their key and value parts. */
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
  /**
   * Frontends with source-IP affinity: a client keeps the backend it got (see lbAffinity). IPv4 only: nft
   * 1.0.6 cannot compile the update of a map whose data is an IPv6 address and a port.
   */
  lbAffine4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** VIP . proto . port of DSR load balancers: routed to a backend unchanged, let into NAT bridges. */
  lbDsr4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** VIP → the SourceVIP its connections reach backends from. */
  lbSource4: { family: "inet", key: ["addr"], value: ["addr"] },
  lbSource6: { family: "inet", key: ["addr"], value: ["addr"] },
  /** VIP . proto . port . draw (0 to LB_SLOTS - 1) → backend address . port. */
  lbBackends4: {
    family: "inet",
    key: ["addr", "proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: `typeof ip daddr . meta l4proto . th dport . numgen random mod ${LB_SLOTS} : ip daddr . th dport;`,
  },
  lbBackends6: {
    family: "inet",
    key: ["addr", "proto", "port", "slot"],
    value: ["addr", "port"],
    declaration: `typeof ip6 daddr . meta l4proto . th dport . numgen random mod ${LB_SLOTS} : ip6 daddr . th dport;`,
  },
  /** client . VIP . proto . port → the backend . port it got; the kernel fills it, hostnet only forgets. */
  lbAffinity4: {
    family: "inet",
    key: ["addr", "addr", "proto", "port"],
    value: ["addr", "port"],
    declaration:
      "typeof ip saddr . ip daddr . meta l4proto . th dport : ip daddr . th dport; flags dynamic,timeout;",
    dynamic: true,
  },
  /** Frontends of load balancers without a backend of the family: refused, not black-holed. */
  lbEmpty4: { family: "inet", key: ["addr", "proto", "port"], value: null },
  lbEmpty6: { family: "inet", key: ["addr", "proto", "port"], value: null },
  /** host veth . MAC, host veth . address: what each bridge port may send from (anti-spoofing). */
  spoofMac: { family: "bridge", key: ["ifname", "ether"], value: null },
  spoofIp4: { family: "bridge", key: ["ifname", "addr"], value: null },
  spoofIp6: { family: "bridge", key: ["ifname", "addr"], value: null },
} as const;

/** How many ACL rules of one direction can each overlap the one before (modes/acl.ts). */
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
  /** The kernel adds its elements, which time out: they are not desired state, and observing skips them. */
  readonly dynamic?: true;
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
