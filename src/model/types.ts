import type { Family } from "./ip.js";
import type { EndpointPolicy, NetworkPolicy } from "../policies/index.js";

/** Network types hostnet implements; each has one module in src/modes/. */
export const networkTypes = [
  "NAT",
  "Private",
  "Internal",
  "Transparent",
  "L2Bridge",
  "L2Tunnel",
  "Overlay",
] as const;
export type NetworkType = (typeof networkTypes)[number];

export type Protocol = "tcp" | "udp";

/** The client that made a network or endpoint, and its key for it; hostnet's own API leaves none. */
export interface Origin {
  readonly kind: "cni" | "docker";
  readonly key: string;
}

export interface Subnet {
  readonly id: number;
  readonly family: Family;
  /** Canonical CIDR, e.g. 172.17.0.0/16. */
  readonly prefix: string;
  /** Gateway address on the host side of the network, no prefix length. */
  readonly gateway: string;
}

/** A route of hostnetd's namespace through one interface, as `ip -j route` shows it. */
export interface HostRoute {
  readonly family: 4 | 6;
  /** "default" or a CIDR. */
  readonly dst: string;
  readonly via: string | null;
  readonly metric: number | null;
  /** The gateway is on the link though no address of the link's says so (a routed overlay's remote router). */
  readonly onlink?: true;
}

/**
 * What an uplink NIC had when a network took it: its addresses and routes move to the network's bridge,
 * and all of it comes back when the network goes.
 */
export interface UplinkSnapshot {
  readonly dev: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** Global addresses as CIDRs. */
  readonly addresses: readonly string[];
  /** Routes through it other than the ones its addresses make by themselves. */
  readonly routes: readonly HostRoute[];
}

/**
 * HNS's Dns of a network or an endpoint: what a container's resolv.conf says. An endpoint's own parts, where
 * it gives them, override its network's (docs/dns.md).
 */
export interface DnsSettings {
  readonly domain: string | null;
  readonly search: readonly string[];
  readonly servers: readonly string[];
  readonly options: readonly string[];
}

export const noDns: DnsSettings = { domain: null, search: [], servers: [], options: [] };

export interface Network {
  readonly id: string;
  readonly name: string;
  readonly type: NetworkType;
  /** First 8 hex digits of the id, unique among networks: what kernel names are derived from. */
  readonly shortId: string;
  readonly mtu: number;
  /** Whether endpoints of the network reach each other directly (Docker's ICC). */
  readonly interContainer: boolean;
  readonly subnets: readonly Subnet[];
  /**
   * Policies every endpoint of the network gets besides its own (see effectivePolicies), and the network's
   * own (RemoteSubnetRoute).
   */
  readonly policies: readonly NetworkPolicy[];
  readonly createdAt: string;
  readonly origin: Origin | null;
  /** The uplink NIC of a network on the physical LAN (HNS's NetAdapterName policy). */
  readonly adapter: string | null;
  /** Where endpoints' IPv4 addresses come from: hostnet's IPAM, or the LAN's DHCP server. */
  readonly ipam: "static" | "dhcp";
  /** What the uplink had before this network took it; null for networks without one. */
  readonly uplink: UplinkSnapshot | null;
  /** The VXLAN of an overlay network, the same on every host; null for the other types. */
  readonly overlay: OverlaySettings | null;
  readonly dns: DnsSettings;
  /** Whether hostnet's resolver answers on the network's gateway addresses (docs/dns.md). */
  readonly resolver: boolean;
}

export interface OverlaySettings {
  readonly vni: number;
  readonly vxlanPort: number;
  /** This host's underlay address, which its VXLAN packets leave from (hostnetd --host-address). */
  readonly localAddress: string;
  /**
   * This host's own address on the network, claimed cluster-wide like an endpoint's: connections it DNATs
   * to another host's endpoint leave from it, so their replies come back to this host. Null until claimed.
   */
  readonly sourceAddress: string | null;
}

export interface Namespace {
  readonly id: string;
  readonly name: string;
  /** Path of the netns file: /run/netns/NAME for namespaces hostnet made, any path for adopted ones. */
  readonly path: string;
  /** True when hostnet created the namespace (and so deletes it); false when a runtime handed it in. */
  readonly owned: boolean;
}

export interface EndpointAddress {
  /**
   * The network's subnet the address is of; null for an address of one of its remote subnets (a routed
   * overlay's remote endpoint, whose address is of another host's subnet).
   */
  readonly subnetId: number | null;
  readonly family: Family;
  readonly address: string;
  readonly prefixLength: number;
}

export interface PortMapping {
  readonly protocol: Protocol;
  /** Host address the mapping is bound to, or null for every host address. */
  readonly hostIp: string | null;
  readonly hostPort: number;
  readonly internalPort: number;
}

/** hostnet moves the container end of the endpoint's veth into the namespace and configures it. */
export interface NamespaceAttachment {
  readonly kind: "namespace";
  readonly namespaceId: string;
  readonly ifname: string;
  /**
   * Its place among the namespace's attachments, 1 for the first: one more than the last of those attached
   * when it came. Kept by the store, so a restart ranks the namespace's gateways as before.
   */
  readonly order: number;
}

/**
 * The container end stays in hostnetd's namespace for a runtime that moves it into its sandbox and
 * configures it itself, as Docker does after a remote driver's Join.
 */
interface HandoffAttachment {
  readonly kind: "handoff";
  /** The runtime's name for where the interface goes (Docker's SandboxKey), for people to read. */
  readonly sandbox: string;
}

export type Attachment = NamespaceAttachment | HandoffAttachment;

/** An attachment as a request asks for it: the store gives a namespace attachment its order. */
export type NewAttachment = Omit<NamespaceAttachment, "order"> | HandoffAttachment;

/** Why hostnet detached an endpoint by itself: its namespace was deleted under it. */
export type DetachedReason = "namespace vanished";

export interface Endpoint {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly shortId: string;
  readonly mac: string;
  readonly addresses: readonly EndpointAddress[];
  readonly portMappings: readonly PortMapping[];
  /** ACLs and other policies, in the order they were added. */
  readonly policies: readonly EndpointPolicy[];
  readonly attachment: Attachment | null;
  /**
   * Of a namespace's endpoints, the one of highest priority holds its default route; among equals, the one
   * attached first (docs/modes.md). Docker calls it gw-priority.
   */
  readonly gatewayPriority: number;
  /** Set while the endpoint stays detached after hostnet detached it by itself. */
  readonly detachedReason?: DetachedReason;
  /** An endpoint of an overlay network on another host: that host's (underlay) address; null for this host's. */
  readonly remoteHost: string | null;
  readonly dns: DnsSettings;
  /** More names the network's resolver answers for the endpoint, lower case. */
  readonly aliases: readonly string[];
}

/** A port of a load balancer's frontend and the backends' port it goes to. */
export interface LbPortMapping {
  readonly protocol: Protocol;
  readonly externalPort: number;
  readonly internalPort: number;
  /** Source-IP affinity: a client's new connections go to the backend its last one went to (HNS SourceIP distribution). */
  readonly affinity: boolean;
  /** An ILB frontend the host itself reaches too (HNS LocalRoutedVip). */
  readonly localRoutedVip: boolean;
  /**
   * HNS port-mapping flags kept and shown as given, which ask nothing more of the kernel here (UseMux,
   * PreserveDIP, VipExternalIP: model/hns-load-balancer.ts).
   */
  readonly keptFlags: number;
}

/** HNS's HostComputeLoadBalancer: connections to every VIP and port spread over the backend endpoints. */
export interface LoadBalancer {
  readonly id: string;
  readonly name: string;
  readonly vips: readonly string[];
  readonly portMappings: readonly LbPortMapping[];
  /** Endpoint ids, in the order they were added. */
  readonly backends: readonly string[];
  /** ILB: reachable only from containers on the host's networks, not from outside nor the host. */
  readonly internal: boolean;
  /** The source address backends see, instead of the client's (HNS's SourceVIP); null keeps the client's. */
  readonly sourceVip: string | null;
  /**
   * Direct server return: connections reach a backend unchanged (no DNAT), the backend carries the VIP on
   * its lo and answers the client itself.
   */
  readonly dsr: boolean;
  /** HNS's IPv6 load balancer flag: every VIP is IPv6. Without it, each VIP's own family counts. */
  readonly ipv6: boolean;
  /**
   * With a port mapping of source-IP affinity, how long (seconds) a client keeps its backend after its last
   * new connection; null without affinity.
   */
  readonly affinityTimeout: number | null;
  readonly createdAt: string;
}
