/**
 * Every name and mark by which hostnet knows its own in the kernel: link names, aliases, namespace marks,
 * the nft table's name and its version chain, element comments with their labels, and the key an ACL's
 * counters are summed under. Each is made here and read back here, next to its maker: that is how the
 * reconciler recognises what it owns and leaves everything else alone. Imports nothing.
 */

/** The records an owner names, each by its id. */
const ownerKinds = ["net", "ep", "ns", "lb"] as const;

/**
 * Whose a kernel object is: a store record (`ep:<id>`), hostnet's own tables and sysctls (`global`), its
 * exceptions in other programs' firewalls, wanted while it has a network (`firewall`), the flows of traces
 * that run now, wanted by nothing once hostnetd restarts (`trace`), or something hostnet made whose record is
 * gone or cannot be named (`orphan`).
 */
export type Owner = `${(typeof ownerKinds)[number]}:${string}` | "global" | "firewall" | "trace" | "orphan";

/** An owner that names a record, as every parser below reads it. */
const OWNER = `(?:${ownerKinds.join("|")}):[0-9a-f-]{36}`;

/** Where named network namespaces live, as iproute2 keeps them. */
export const NETNS_DIR = "/run/netns";
/** Where `ip netns exec NAME` finds files to mount over /etc's: NAME/resolv.conf. */
export const NETNS_ETC_DIR = "/etc/netns";
/** The name of hostnet's two nft tables, one per family (nft-sets.ts). */
export const NFT_TABLE = "hostnet";
/** The routing protocol number that marks hostnet's DSR routes (`ip route … proto 211`). */
export const DSR_ROUTE_PROTO = 211;
/** The protocol of the routing rules hostnet adds in a container's namespace, which marks them as its own. */
export const RULE_PROTO = 211;
/**
 * The conntrack mark bit of connections a NodePort DNATs, as nft and conntrack write it (render/nft.ts,
 * backend-memory.ts): after DNAT, only it tells them from those of a port mapping or a VIP on the same port,
 * which their NodePort's SourceVIP must not catch, nor forgetting its flows. One bit of the mark, set with
 * `or`, so whatever else marks connections keeps its bits.
 */
export const NODE_PORT_CT_MARK = "0x00100000";
/**
 * The label of a DSR VIP on a backend's lo: lo's alias marks the namespace, not its addresses. IPv6 addresses
 * have no label, and iproute2 6.1 cannot set an address's protocol: an IPv6 VIP is marked by the `home` flag
 * instead, which means something only to Mobile IPv6 (render/steps.ts, observe.ts).
 */
export const DSR_VIP_LABEL = "lo:hostnet";

const BRIDGE_PREFIX = "hnb-";
const VETH_PREFIX = "hnv-";
const IFB_PREFIX = "hni-";
const VXLAN_PREFIX = "hnx-";
/**
 * The container end of a veth handed off to a runtime, until the runtime moves it. It carries no alias and
 * is not an owned name: it lives and dies with its host end, which is.
 */
const HANDOFF_PREFIX = "hnc-";
/** The prefixes of the links hostnet names, and so owns by name even without their alias. */
const ownedLinkPrefixes = [BRIDGE_PREFIX, VETH_PREFIX, IFB_PREFIX, VXLAN_PREFIX];

export const bridgeName = (shortId: string): string => `${BRIDGE_PREFIX}${shortId}`;
export const hostVethName = (shortId: string): string => `${VETH_PREFIX}${shortId}`;
export const handoffVethName = (shortId: string): string => `${HANDOFF_PREFIX}${shortId}`;
/** The ifb device that shapes what an endpoint sends (traffic entering its host veth is redirected there). */
export const ifbName = (shortId: string): string => `${IFB_PREFIX}${shortId}`;
/** The VXLAN port of an overlay network's bridge. */
export const vxlanName = (shortId: string): string => `${VXLAN_PREFIX}${shortId}`;

/** nft's wildcards for the names of every bridge and every host veth hostnet makes (`iifname "hnb-*"`). */
export const anyBridgeName = `${BRIDGE_PREFIX}*`;
export const anyHostVethName = `${VETH_PREFIX}*`;
/** iptables' and firewalld's wildcard for the names of every bridge hostnet makes (`-i hnb-+`). */
export const anyBridgeInterface = `${BRIDGE_PREFIX}+`;

/**
 * hostnet's chain in the iptables filter table of another program's firewall (ufw's, Docker's), which the
 * one jump hostnet adds there leads to: hostnet owns it by its name.
 */
export const IPTABLES_CHAIN = "HOSTNET-FORWARD";
/** The comment that labels every iptables rule hostnet adds, the jump to its chain included. */
export const IPTABLES_COMMENT = "hostnet";

/** The short id in the name of a link hostnet owns by name, or undefined for any other link. */
export function shortIdOfLink(name: string): string | undefined {
  const prefix = ownedLinkPrefixes.find((p) => name.startsWith(p));
  return prefix === undefined ? undefined : name.slice(prefix.length);
}

export const isOwnedLinkName = (name: string): boolean => shortIdOfLink(name) !== undefined;

/** Links and namespaces hostnet made carry this alias prefix followed by their owner. */
const ALIAS_PREFIX = "hostnet:";
const aliasPattern = new RegExp(`^${ALIAS_PREFIX}(${OWNER})$`);

export const aliasOf = (owner: Owner): string => `${ALIAS_PREFIX}${owner}`;

/** The owner an alias names, or undefined when the alias is not hostnet's. */
export function ownerFromAlias(alias: string | undefined): Owner | undefined {
  return aliasPattern.exec(alias ?? "")?.[1] as Owner | undefined;
}

const namespaceAliasPattern = new RegExp(`^${ALIAS_PREFIX}(${OWNER})(?:@([0-9a-f]+))?$`);

/** The alias of a namespace's lo: its owner and the hostnetd (state directory) that made it. */
export const namespaceAlias = (owner: Owner, instance: string): string => `${aliasOf(owner)}@${instance}`;

/**
 * The owner and maker a namespace's lo alias names; `instance` is undefined for namespaces made before
 * hostnet marked its instance, which are taken for this hostnetd's.
 */
export function namespaceMark(alias: string | undefined): { owner: Owner; instance?: string } | undefined {
  const m = namespaceAliasPattern.exec(alias ?? "");
  if (m?.[1]?.startsWith("ns:") !== true) return undefined;
  const owner = m[1] as Owner;
  return m[2] === undefined ? { owner } : { owner, instance: m[2] };
}

/**
 * The namespaces hostnet makes get an id in hostnetd's namespace (`ip netns set NAME NSID`) in this range,
 * above the ids the kernel gives out itself (the lowest free, from 0). It is a mark that one `ip -j netns
 * list` reads for every namespace without entering any: observation enters only namespaces of the store and
 * those carrying it, where lo's alias (namespaceMark) says whose they are.
 */
const NSID_BASE = 0x40000000;

/** The namespace id of the namespace hostnet makes for `owner`, from its record's id (random bits). */
export const namespaceNsid = (owner: Owner): number =>
  NSID_BASE + (Number.parseInt(owner.replace(/^ns:/, "").slice(0, 8), 16) % NSID_BASE);

/** Whether a namespace id is in the range hostnet marks its namespaces with. */
export const isNamespaceNsid = (nsid: number | undefined): boolean => nsid !== undefined && nsid >= NSID_BASE;

/**
 * The first line of a resolv.conf hostnet writes, after `# `: its namespace's owner and the hostnetd that
 * wrote it, as the namespace's lo alias has them, and a word for whoever opens the file.
 */
export const resolvConfMark = (owner: Owner, instance: string): string =>
  `${namespaceAlias(owner, instance)} (written by hostnet from its DNS settings; edits are undone)`;

/** The owner and writer a resolv.conf's first line names, if hostnet wrote it. */
export function resolvConfOwner(firstLine: string): { owner: Owner; instance?: string } | undefined {
  const m = /^# (\S+) \(written by hostnet/.exec(firstLine);
  return m === null ? undefined : namespaceMark(m[1]);
}

/** The empty chain whose name carries the version of a table's skeleton (render/nft.ts). */
const VERSION_CHAIN_PREFIX = "version_";

export const versionChain = (version: string): string => `${VERSION_CHAIN_PREFIX}${version}`;

/** The version a chain's name carries, or undefined when the chain is not the version chain. */
export const versionOfChain = (name: string): string | undefined =>
  name.startsWith(VERSION_CHAIN_PREFIX) ? name.slice(VERSION_CHAIN_PREFIX.length) : undefined;

/**
 * A chain or set of one owner's in hostnet's nft tables: the owner's kind and id, then what it is for it
 * (`lb_<id>_4`). The skeleton's own names never hold an id.
 */
export const ownedNftName = (owner: Owner, what: string): string => `${owner.replace(":", "_")}_${what}`;

const ownedNftPattern = new RegExp(`^(${ownerKinds.join("|")})_([0-9a-f-]{36})_`);

/** The owner an nft chain's or set's name names, or undefined for the skeleton's. */
export function ownerOfNftName(name: string): Owner | undefined {
  const m = ownedNftPattern.exec(name);
  return m === null ? undefined : (`${m[1] ?? ""}:${m[2] ?? ""}` as Owner);
}

/** Element comments name a record, or `trace` for the flow of a trace (its label the trace's id). */
const commentPattern = new RegExp(`^(${OWNER}|trace)(?: (.+))?$`);

/** A set element's comment: its owner, then what in the owner it stands for, if it says. */
export const elementComment = (owner: Owner, label?: string): string =>
  label === undefined ? owner : `${owner} ${label}`;

/** The owner and label an element's comment names, or undefined when the comment is not hostnet's. */
export function parseElementComment(
  comment: string | undefined,
): { owner: Owner; label?: string } | undefined {
  const m = commentPattern.exec(comment ?? "");
  if (m?.[1] === undefined) return undefined;
  const owner = m[1] as Owner;
  return m[2] === undefined ? { owner } : { owner, label: m[2] };
}

/** Whose list of policies an ACL is in: the endpoint's own, or its network's. */
export type AclScope = "endpoint" | "network";

/** The label of an ACL's elements: its place in its list (`acl 2`, `network acl 0`). */
export const aclLabel = (scope: AclScope, index: number): string =>
  scope === "endpoint" ? `acl ${index}` : `network acl ${index}`;

/** The key an endpoint's own ACL's counters are summed under: the comment its elements carry. */
export const aclCounterKey = (endpointId: string, index: number): string =>
  elementComment(`ep:${endpointId}`, aclLabel("endpoint", index));

/** The label of a load balancer's elements that DNAT to a backend: the backend endpoint's id. */
export const lbBackendLabel = (endpointId: string): string => `backend ${endpointId}`;

/** The key a load balancer's connections to one backend are summed under: its elements' comment. */
export const lbBackendCounterKey = (lbId: string, endpointId: string): string =>
  elementComment(`lb:${lbId}`, lbBackendLabel(endpointId));
