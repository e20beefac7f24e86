/**
 * Kernel objects hostnet owns, as plain data. Every object names its owner (the store record it comes
 * from) so a scoped converge can pick exactly its own, and may name a parent whose deletion takes it along.
 */
import { createHash } from "node:crypto";
import type { HostRoute } from "../model/types.js";
import { hostVethName, IPTABLES_CHAIN, NETNS_DIR, type Owner } from "./naming.js";
import { setDefinition, type ElementPart, type NftFamily, type NftSetName } from "./nft-sets.js";

/** Where an object lives: null is hostnetd's own namespace, otherwise a netns path or name. */
export type NetnsRef = string | null;

/** The two iptables of Linux: iptables-nft (rules in nftables) and iptables-legacy (x_tables). */
export type IptablesBackend = "nft" | "legacy";

/** The command of one iptables, as a person names it too: `iptables-nft`, `ip6tables-legacy`. */
export const iptablesCommand = (backend: IptablesBackend, family: 4 | 6): string =>
  `${family === 6 ? "ip6tables" : "iptables"}-${backend}`;

/**
 * The chain of another program's iptables filter table where hostnet jumps to its own: Docker's chain for
 * its users' rules when Docker's chains are there, FORWARD otherwise.
 */
export type IptablesHook = "DOCKER-USER" | "FORWARD";

interface Base {
  readonly owner: Owner;
}

export type KernelObject =
  /**
   * `instance`: the hostnetd that made it, in its lo's alias (naming.ts namespaceAlias). `unmarked`, only
   * ever observed: the store's namespace is there but its lo lacks that alias, since making a namespace and
   * marking it are two processes and hostnetd can die between them; it is marked in place.
   */
  | (Base & { kind: "netns"; name: string; instance: string; unmarked?: true })
  /** `mac`: the uplink's, for a bridge that takes an uplink's place on the LAN. */
  | (Base & { kind: "bridge"; name: string; mtu: number; mac?: string })
  /** A NIC that is not hostnet's, made a port of one of its bridges (its addresses and routes moved there). */
  | (Base & { kind: "uplinkPort"; dev: string; master: string })
  /**
   * An endpoint's bridge port on VLAN `vid`: its only VLAN, the one its untagged frames join and the one
   * that leaves it untagged (PVID, egress untagged), on a bridge with VLAN filtering whose `uplink` is a
   * trunk of every VLAN (2 to 4094, tagged) beside the LAN's untagged traffic (VLAN 1). Observed on a
   * filtering bridge, for a port whose VLANs are other than the bridge's default (VLAN 1 alone): `vid` is
   * its PVID (0 without one), `stray` its other VLANs, and `uplink` null unless the bridge's uplink is a
   * whole trunk. A portVlan is the bridge's VLAN table, which marks nothing: the port's owner owns it.
   */
  | (Base & {
      kind: "portVlan";
      dev: string;
      bridge: string;
      uplink: string | null;
      vid: number;
      stray: readonly number[];
    })
  /** A route of hostnetd's namespace, through one of hostnet's bridges. */
  | (Base & { kind: "hostRoute"; dev: string; route: HostRoute })
  /**
   * `label` marks an address hostnet put on a container's `lo` (a DSR VIP), since lo's own alias marks the
   * namespace, not the address.
   */
  | (Base & { kind: "address"; netns: NetnsRef; dev: string; cidr: string; label?: string })
  /** A DSR VIP routed, unchanged, to its backends (one nexthop each), marked by protocol DSR_ROUTE_PROTO. */
  | (Base & { kind: "vipRoute"; vip: string; via: readonly string[] })
  | (Base & {
      kind: "veth";
      name: string;
      master: string;
      mtu: number;
      /** Bridge port hairpin mode, so a container reaches its own published ports through the host. */
      hairpin: boolean;
      /** An isolated bridge port reaches only the bridge's other, non-isolated ports (L2Tunnel). */
      isolated: boolean;
      peer: string;
      /** Where the peer goes; null leaves it in hostnetd's namespace, with `peerMac`, for a runtime to move. */
      netns: string | null;
      peerMac?: string;
    })
  | (Base & {
      kind: "containerLink";
      netns: string;
      name: string;
      mac: string;
      /**
       * No IPv6 link-local address (addrgenmode none), hence none of the DAD, router solicitations and MLD
       * reports the bridge would flood to every other port. Set when the link is brought up, not observed:
       * a change applies at the next attach.
       */
      noLinkLocal6?: true;
    })
  | (Base & { kind: "ifb"; name: string })
  /**
   * A VXLAN device of an overlay network, a port of its bridge: no learning, no flooding; the bridge
   * answers ARP.
   */
  | (Base & {
      kind: "vxlan";
      name: string;
      vni: number;
      port: number;
      local: string;
      master: string;
      mtu: number;
    })
  /**
   * A remote endpoint of an overlay network: frames for `mac` leave through `vxlan` to host `remote`, and the
   * bridge answers ARP and NDP for each of `addresses` with `mac` itself (neigh_suppress), so nothing is
   * flooded across hosts. One object per MAC, with all its addresses (a dual-stack endpoint has two): its
   * FDB entries are the MAC's. Observed, `remote` is "" when its FDB entries are missing, and `addresses`
   * holds the neighbour entries there are.
   */
  | (Base & {
      kind: "overlayPeer";
      vxlan: string;
      bridge: string;
      mac: string;
      addresses: readonly string[];
      remote: string;
    })
  /** A token bucket (tbf) as the root qdisc of a host-side device. */
  | (Base & { kind: "shaper"; dev: string; bytesPerSecond: number })
  /** Everything entering `dev` is redirected to the ifb `to`, where it is shaped. */
  | (Base & { kind: "ingressRedirect"; dev: string; to: string })
  /**
   * A route of a container's namespace through one of its endpoints. `table`: another routing table than main
   * (an endpoint's replies); `metric`: the rank of a default route among the namespace's (modes/gateway-routes.ts).
   */
  | (Base & {
      kind: "route";
      netns: string;
      family: 4 | 6;
      dst: string;
      via: string;
      dev: string;
      table?: number;
      metric?: number;
    })
  /**
   * A routing rule of a container's namespace for packets from `from` (an endpoint's address): look up
   * `table` (254 is main), and with `suppressPrefixLength` 0 take no default route from it. Marked by
   * protocol RULE_PROTO, with no owner: the reconciler takes it from the store's endpoints.
   */
  | (Base & {
      kind: "routeRule";
      netns: string;
      family: 4 | 6;
      priority: number;
      from: string;
      table: number;
      suppressPrefixLength?: number;
    })
  | (Base & { kind: "sysctl"; key: string; value: string })
  /**
   * `rules`: how many rules its skeleton's chains hold, which `nft flush table` takes while it leaves chains
   * and elements.
   */
  | (Base & { kind: "nftTable"; family: NftFamily; version: string; rules?: number })
  /**
   * A set of one owner's in one of hostnet's tables (naming.ts ownedNftName), which the kernel fills
   * (`flags dynamic`): its elements are not desired state, and are never observed. The kernel cannot change
   * a set's declaration: what the declaration says that may change (a timeout) is in the set's name, so a
   * change makes another set. Observed, `declaration` is "".
   */
  | (Base & { kind: "nftSet"; family: NftFamily; name: string; declaration: string })
  /**
   * A chain of one owner's in one of hostnet's tables, for what elements of the skeleton's sets cannot say
   * (a load balancer's source-IP affinity, modes/load-balancer.ts). Each rule carries the digest of its text
   * (ruleDigest) as its comment, since the kernel shows rules as JSON: observed, `rules` holds those digests
   * and `digests` is set.
   */
  | (Base & {
      kind: "nftChain";
      family: NftFamily;
      name: string;
      rules: readonly string[];
      digests?: true;
    })
  /**
   * /etc/netns/NAME/resolv.conf of a namespace hostnet made or adopted by its name, which `ip netns exec`
   * mounts over /etc/resolv.conf; `text` is what follows its first line, the mark of its owner and of the
   * hostnetd that wrote it (naming.ts resolvConfMark).
   */
  | (Base & { kind: "resolvConf"; netns: string; instance: string; text: string })
  /** hostnetd's resolver listening on a network's gateway address, UDP and TCP port 53 (dns/resolver.ts). */
  | (Base & { kind: "dnsListener"; address: string })
  | (Base & {
      kind: "loopbackProxy";
      protocol: "tcp" | "udp";
      port: number;
      target: string;
      targetPort: number;
    })
  /**
   * hostnet's chain in the filter table of an iptables (one backend, one family) whose forwarding would drop
   * what hostnet's bridges forward; `rules` as `iptables -S` shows them, after the chain's name.
   */
  | (Base & { kind: "iptablesChain"; backend: IptablesBackend; family: 4 | 6; rules: readonly string[] })
  /** The one rule hostnet adds to a chain of that table, first in it: a labelled jump to hostnet's chain. */
  | (Base & {
      kind: "iptablesJump";
      backend: IptablesBackend;
      family: 4 | 6;
      hook: IptablesHook;
      rule: string;
    })
  /** An interface of firewalld's runtime configuration (a wildcard for hostnet's bridges) in a zone. */
  | (Base & { kind: "firewalldInterface"; zone: string; interface: string })
  | (Base & {
      kind: "nftElement";
      set: NftSetName;
      key: readonly ElementPart[];
      value: readonly ElementPart[] | null;
      /** What in the owner the element stands for (an ACL's "acl 2"), kept after the owner in its comment. */
      label?: string;
    });

export type Kind = KernelObject["kind"];

/** Render a list of element parts in nft syntax; also the canonical text used for identity. */
export const partsText = (parts: readonly ElementPart[]): string =>
  parts.map((p) => (p.t === "ifname" ? JSON.stringify(p.v) : String(p.v))).join(" . ");

/** What each rule of an owner's nft chain carries as its comment: how observation knows the rule's text. */
export const ruleDigest = (rule: string): string =>
  createHash("sha256").update(rule).digest("hex").slice(0, 16);

/** A stable key: two objects with the same identity are the same kernel object, maybe in another state. */
export function identity(o: KernelObject): string {
  switch (o.kind) {
    case "netns":
      return `netns:${o.name}`;
    case "bridge":
    case "veth":
    case "ifb":
    case "vxlan":
      return `link:${o.name}`;
    case "overlayPeer":
      return `peer:${o.vxlan}:${o.mac}`;
    case "shaper":
      return `shaper:${o.dev}`;
    case "uplinkPort":
      return `port:${o.dev}`;
    case "portVlan":
      return `vlan:${o.dev}`;
    case "hostRoute":
      return `hostroute:${o.route.family}:${o.route.dst}:${o.route.metric ?? ""}`;
    case "ingressRedirect":
      return `redirect:${o.dev}`;
    case "address":
      return `addr:${o.netns ?? ""}:${o.dev}:${o.cidr}`;
    case "containerLink":
      return `clink:${o.netns}:${o.name}`;
    case "route":
      return `route:${o.netns}:${o.family}:${o.dst}${o.table === undefined ? "" : `@${o.table}`}${o.metric === undefined ? "" : `#${o.metric}`}`;
    case "routeRule":
      return `rule:${o.netns}:${o.family}:${o.priority}:${o.from}:${o.table}`;
    case "sysctl":
      return `sysctl:${o.key}`;
    case "nftTable":
      return `nft:${o.family}`;
    case "nftElement":
      return `nft:${o.set}:${partsText(o.key)}`;
    case "nftSet":
      return `nftset:${o.family}:${o.name}`;
    case "nftChain":
      return `nftchain:${o.family}:${o.name}`;
    case "vipRoute":
      return `viproute:${o.vip}`;
    case "loopbackProxy":
      return `proxy:${o.protocol}/${o.port}`;
    case "resolvConf":
      return `resolvconf:${o.netns}`;
    case "dnsListener":
      return `dns:${o.address}`;
    case "iptablesChain":
      return `iptables:${o.backend}:${o.family}:chain`;
    case "iptablesJump":
      return `iptables:${o.backend}:${o.family}:jump:${o.hook}`;
    case "firewalldInterface":
      return `firewalld:${o.interface}`;
  }
}

/** The kernel's number for its main routing table. */
export const MAIN_TABLE = 254;

/**
 * A route's metric as hostnet gives it: none for the kernel's default (0, or 1024 for IPv6), which is what a
 * route made without one has.
 */
export const routeMetric = (family: 4 | 6, metric: number | undefined): number | undefined =>
  metric === undefined || metric === (family === 6 ? 1024 : 0) ? undefined : metric;

/** Where an object lives: its netns path, or null for hostnetd's own namespace. */
export function netnsOf(o: KernelObject): NetnsRef {
  switch (o.kind) {
    case "address":
    case "containerLink":
    case "route":
    case "routeRule":
      return o.netns;
    case "netns":
    case "bridge":
    case "veth":
    case "vxlan":
    case "overlayPeer":
    case "sysctl":
    case "nftTable":
    case "nftElement":
    case "nftSet":
    case "nftChain":
    case "loopbackProxy":
    case "resolvConf":
    case "dnsListener":
    case "ifb":
    case "shaper":
    case "ingressRedirect":
    case "uplinkPort":
    case "portVlan":
    case "hostRoute":
    case "vipRoute":
    case "iptablesChain":
    case "iptablesJump":
    case "firewalldInterface":
      return null;
  }
}

/** The identity of the object whose deletion removes this one with it, if any. */
export function parentOf(o: KernelObject): string | undefined {
  switch (o.kind) {
    case "address":
      return o.netns === null ? `link:${o.dev}` : `clink:${o.netns}:${o.dev}`;
    case "containerLink":
      return o.owner.startsWith("ep:") ? `link:${hostVethName(o.owner.slice(3, 11))}` : undefined;
    case "route":
      return `clink:${o.netns}:${o.dev}`;
    case "nftElement":
      return `nft:${setDefinition(o.set).family}`;
    case "nftSet":
    case "nftChain":
      return `nft:${o.family}`;
    case "sysctl":
      return /^net\/ipv[46]\/conf\/(?!all\/|default\/)/.test(o.key)
        ? `link:${o.key.split("/")[3] ?? ""}`
        : undefined;
    case "shaper":
    case "ingressRedirect":
      return `link:${o.dev}`;
    case "uplinkPort":
      return `link:${o.master}`;
    case "portVlan":
      return `link:${o.dev}`;
    case "hostRoute":
      return `link:${o.dev}`;
    // The vxlan device takes its FDB entries along; its delete flushes the bridge's neighbour entries too.
    case "overlayPeer":
      return `link:${o.vxlan}`;
    case "netns":
    case "bridge":
    case "veth":
    case "ifb":
    case "vxlan":
    case "nftTable":
    case "loopbackProxy":
    case "resolvConf":
    case "dnsListener":
    case "vipRoute":
    case "iptablesChain":
    case "iptablesJump":
    case "firewalldInterface":
      return undefined;
    // A rule names no link: it outlives the endpoint's, and is deleted on its own.
    case "routeRule":
      return undefined;
  }
}

/**
 * What must exist before the object can be made: its parent, the bridge it is a port of, the ifb it
 * redirects to, the namespace hostnet made that its peer goes into.
 */
export function prerequisitesOf(o: KernelObject): string[] {
  const parent = parentOf(o);
  const out = parent === undefined ? [] : [parent];
  if ((o.kind === "veth" || o.kind === "vxlan") && o.master !== "") out.push(`link:${o.master}`);
  if (o.kind === "ingressRedirect") out.push(`link:${o.to}`);
  if (o.kind === "portVlan") out.push(`link:${o.bridge}`, ...(o.uplink === null ? [] : [`port:${o.uplink}`]));
  if (o.kind === "veth" && o.netns?.startsWith(`${NETNS_DIR}/`) === true)
    out.push(`netns:${o.netns.slice(NETNS_DIR.length + 1)}`);
  return out;
}

/**
 * Whether the observed object already is what is desired. Only fields the kernel reports are compared:
 * a veth's peer and namespace are not visible from the host side.
 */
export function sameState(desired: KernelObject, observed: KernelObject): boolean {
  switch (desired.kind) {
    case "vipRoute":
      return (
        observed.kind === "vipRoute" && [...observed.via].sort().join() === [...desired.via].sort().join()
      );
    case "bridge":
      return (
        observed.kind === "bridge" &&
        observed.mtu === desired.mtu &&
        (desired.mac === undefined || observed.mac === desired.mac)
      );
    case "uplinkPort":
      return observed.kind === "uplinkPort" && observed.master === desired.master;
    case "portVlan":
      return (
        observed.kind === "portVlan" &&
        observed.vid === desired.vid &&
        observed.stray.length === 0 &&
        (desired.uplink === null || observed.uplink === desired.uplink)
      );
    case "hostRoute":
      return (
        observed.kind === "hostRoute" &&
        observed.dev === desired.dev &&
        observed.route.via === desired.route.via &&
        observed.route.onlink === desired.route.onlink
      );
    case "veth":
      return (
        observed.kind === "veth" &&
        observed.master === desired.master &&
        observed.mtu === desired.mtu &&
        observed.hairpin === desired.hairpin &&
        observed.isolated === desired.isolated
      );
    case "vxlan":
      return (
        observed.kind === "vxlan" &&
        observed.vni === desired.vni &&
        observed.port === desired.port &&
        observed.local === desired.local &&
        observed.master === desired.master &&
        observed.mtu === desired.mtu
      );
    case "overlayPeer":
      return (
        observed.kind === "overlayPeer" &&
        [...observed.addresses].sort().join() === [...desired.addresses].sort().join() &&
        observed.remote === desired.remote
      );
    case "containerLink":
      return observed.kind === "containerLink" && observed.mac === desired.mac;
    case "route":
      return observed.kind === "route" && observed.via === desired.via && observed.dev === desired.dev;
    case "routeRule":
      return observed.kind === "routeRule" && observed.suppressPrefixLength === desired.suppressPrefixLength;
    case "sysctl":
      return observed.kind === "sysctl" && observed.value === desired.value;
    case "nftTable":
      return (
        observed.kind === "nftTable" &&
        observed.version === desired.version &&
        (desired.rules === undefined || observed.rules === desired.rules)
      );
    case "nftChain": {
      if (observed.kind !== "nftChain") return false;
      const rules = observed.digests === true ? desired.rules.map(ruleDigest) : desired.rules;
      return observed.rules.join("\n") === rules.join("\n");
    }
    case "nftSet":
      return observed.kind === "nftSet";
    case "nftElement":
      return (
        observed.kind === "nftElement" &&
        (observed.value === null ? "" : partsText(observed.value)) ===
          (desired.value === null ? "" : partsText(desired.value)) &&
        observed.owner === desired.owner &&
        observed.label === desired.label
      );
    case "loopbackProxy":
      return (
        observed.kind === "loopbackProxy" &&
        observed.target === desired.target &&
        observed.targetPort === desired.targetPort &&
        observed.owner === desired.owner
      );
    case "resolvConf":
      return (
        observed.kind === "resolvConf" && observed.text === desired.text && observed.owner === desired.owner
      );
    case "dnsListener":
      return observed.kind === "dnsListener" && observed.owner === desired.owner;
    case "shaper":
      return observed.kind === "shaper" && observed.bytesPerSecond === desired.bytesPerSecond;
    case "ingressRedirect":
      return observed.kind === "ingressRedirect" && observed.to === desired.to;
    case "iptablesChain":
      return observed.kind === "iptablesChain" && observed.rules.join("\n") === desired.rules.join("\n");
    case "firewalldInterface":
      return observed.kind === "firewalldInterface" && observed.zone === desired.zone;
    // A jump is hostnet's by its target; where hostnet first put it in the chain, it leaves it.
    case "netns":
      return observed.kind === "netns" && observed.unmarked !== true;
    case "iptablesJump":
    case "address":
    case "ifb":
      return observed.kind === desired.kind;
  }
}

/** One line a person can read, e.g. `veth hnv-3f2a1b2c master hnb-9c0d1e2f (peer eth0 in /run/netns/c1)`. */
export function describe(o: KernelObject): string {
  const where = (netns: NetnsRef): string => (netns === null ? "" : ` in ${netns}`);
  switch (o.kind) {
    case "netns":
      return `netns ${o.name}`;
    case "bridge":
      return `bridge ${o.name} mtu ${o.mtu}${o.mac === undefined ? "" : ` address ${o.mac}`}`;
    case "uplinkPort":
      return `uplink ${o.dev} master ${o.master}`;
    case "portVlan":
      return `vlan ${o.vid} on ${o.dev} (pvid untagged${o.stray.length === 0 ? "" : `, also ${o.stray.join(", ")}`}) of ${o.bridge}${o.uplink === null ? "" : `, trunk ${o.uplink}`}`;
    case "hostRoute":
      return `route ${o.route.dst}${o.route.via === null ? "" : ` via ${o.route.via}`} dev ${o.dev}${o.route.metric === null ? "" : ` metric ${o.route.metric}`}${o.route.onlink === true ? " onlink" : ""}`;
    case "address":
      return `address ${o.cidr} on ${o.dev}${where(o.netns)}`;
    case "vipRoute":
      return `route ${o.vip} via ${o.via.join(", ")}`;
    case "veth":
      return `veth ${o.name} master ${o.master} mtu ${o.mtu} (peer ${o.peer}${o.netns === null ? ", handed off" : where(o.netns)})`;
    case "containerLink":
      return `link ${o.name} address ${o.mac} up${where(o.netns)}`;
    case "route":
      return `route ${o.dst} via ${o.via} dev ${o.dev}${o.table === undefined ? "" : ` table ${o.table}`}${o.metric === undefined ? "" : ` metric ${o.metric}`}${where(o.netns)}`;
    case "routeRule":
      return `rule ${o.priority}: from ${o.from} lookup ${o.table}${o.suppressPrefixLength === undefined ? "" : ` suppress_prefixlength ${o.suppressPrefixLength}`}${where(o.netns)}`;
    case "sysctl":
      return `sysctl ${o.key.replaceAll("/", ".")} = ${o.value}`;
    case "nftTable":
      return `nft table ${o.family} hostnet (${o.version}${o.rules === undefined ? "" : `, ${o.rules} rules`})`;
    case "ifb":
      return `ifb ${o.name}`;
    case "vxlan":
      return `vxlan ${o.name} id ${o.vni} port ${o.port} local ${o.local} master ${o.master} mtu ${o.mtu}`;
    case "overlayPeer":
      return `peer ${o.mac} (${o.addresses.join(", ")}) via ${o.remote} on ${o.vxlan}`;
    case "shaper":
      return `tbf on ${o.dev}: ${o.bytesPerSecond} bytes/s`;
    case "ingressRedirect":
      return `redirect ${o.dev} ingress to ${o.to}`;
    case "loopbackProxy":
      return `loopback proxy [::1]:${o.port}/${o.protocol} to ${o.target.includes(":") ? `[${o.target}]` : o.target}:${o.targetPort} (${o.owner})`;
    case "resolvConf":
      return `/etc/netns/${o.netns}/resolv.conf: ${o.text.trim().split("\n").join("; ")}`;
    case "dnsListener":
      return `resolver on ${o.address.includes(":") ? `[${o.address}]` : o.address}:53 (${o.owner})`;
    case "nftSet":
      return `nft set ${o.family} ${o.name}${o.declaration === "" ? "" : ` { ${o.declaration} }`} (${o.owner})`;
    case "nftChain":
      return `nft chain ${o.family} ${o.name}: ${o.digests === true ? `${o.rules.length} rules` : o.rules.join("; ")} (${o.owner})`;
    case "nftElement":
      return `nft element ${o.set} { ${partsText(o.key)}${o.value === null ? "" : ` : ${partsText(o.value)}`} } (${o.owner})`;
    case "iptablesChain":
      return `${iptablesCommand(o.backend, o.family)} chain ${IPTABLES_CHAIN}: ${o.rules.join("; ")}`;
    case "iptablesJump":
      return `${iptablesCommand(o.backend, o.family)} ${o.hook}: ${o.rule}`;
    case "firewalldInterface":
      return `firewalld zone ${o.zone} interface ${o.interface} (runtime)`;
  }
}
