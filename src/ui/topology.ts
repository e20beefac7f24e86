/**
 * What the page draws, made from hostnetd's answers alone (pure, so it is unit-tested without a browser):
 * networks holding their endpoints, other hosts of an overlay network holding theirs (remote endpoints),
 * namespaces joined to the endpoints attached to them, load balancers joined to their backends. The graph and
 * the page's list are both drawn from this one model, so they cannot disagree.
 */
import type { LoadBalancerWire } from "../api/rest/load-balancers.js";
import type { EndpointStats, EndpointWire, NamespaceWire, NetworkWire, Policy } from "../api/rest/wire.js";

type NodeKind = "network" | "host" | "endpoint" | "namespace" | "loadbalancer";

export interface TopologyNode {
  /** Unique in the graph: the kind and hostnet's ID (`endpoint:3f2a…`). */
  readonly id: string;
  readonly kind: NodeKind;
  readonly name: string;
  /** The node it is drawn inside: an endpoint's network, or for another host's endpoint, that host. */
  readonly parent?: string;
  /** What the graph writes on the node, one fact a line. */
  readonly label: string;
  /** The rest, for the list: addresses, policies, interfaces. */
  readonly details: readonly string[];
  /** An endpoint's traffic as hostnetd last counted it, when it has a veth and was counted. */
  readonly traffic?: EndpointStats;
}

interface TopologyEdge {
  readonly id: string;
  /** `attached`: endpoint to its namespace; `backend`: load balancer to a backend endpoint. */
  readonly kind: "attached" | "backend";
  readonly source: string;
  readonly target: string;
}

export interface Topology {
  /** Parents before their children, as a graph library adds them. */
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
}

/** hostnetd's objects, as its list routes answer them. */
export interface Objects {
  readonly networks: readonly NetworkWire[];
  readonly endpoints: readonly EndpointWire[];
  readonly namespaces: readonly NamespaceWire[];
  readonly loadBalancers: readonly LoadBalancerWire[];
}

export const emptyObjects: Objects = { networks: [], endpoints: [], namespaces: [], loadBalancers: [] };

const REMOTE_ENDPOINT = 1;

/** The host a remote endpoint is on (its ProviderAddress policy); `remote` when hostnetd names none. */
function hostOf(e: EndpointWire): string | undefined {
  if ((e.Flags & REMOTE_ENDPOINT) === 0) return undefined;
  const settings = e.Policies.find((p) => p.Type === "ProviderAddress")?.Settings;
  const address = (settings as { ProviderAddress?: unknown } | undefined)?.ProviderAddress;
  return typeof address === "string" ? address : "remote";
}

/** Whether hostnetd counts the endpoint's traffic: a local endpoint with a veth (attached or handed off). */
export const hasTraffic = (e: EndpointWire): boolean =>
  hostOf(e) === undefined && (e.HostComputeNamespace !== null || e.Sandbox !== undefined);

const protocolName = (p: unknown): string =>
  p === 6 || p === "TCP" ? "tcp" : p === 17 || p === "UDP" ? "udp" : String(p);

/** One policy in a few words: `publish 8080→80/tcp`, `ACL Block In prio 200`, `QOS`. */
export function policyText(p: Policy): string {
  const s = (typeof p.Settings === "object" && p.Settings !== null ? p.Settings : {}) as Record<
    string,
    unknown
  >;
  const str = (key: string): string =>
    typeof s[key] === "string" || typeof s[key] === "number" ? String(s[key]) : "";
  switch (p.Type) {
    case "PortMapping": {
      const vip = str("VIP");
      return `publish ${vip === "" ? "" : `${vip}:`}${str("ExternalPort")}→${str("InternalPort")}/${protocolName(s["Protocol"])}`;
    }
    case "ACL":
      return `ACL ${str("Action")} ${str("Direction")} prio ${str("Priority") || "100"}`;
    default:
      return p.Type;
  }
}

const bytes = new Intl.NumberFormat("en", {
  notation: "compact",
  style: "unit",
  unit: "byte",
  unitDisplay: "narrow",
});

/** An endpoint's counters in one line: `in 1.2KB 10 pkts · out 300B 3 pkts · dropped 0/0`. */
export const trafficText = (t: EndpointStats): string =>
  `in ${bytes.format(t.BytesReceived)} ${t.PacketsReceived} pkts · out ${bytes.format(t.BytesSent)} ${t.PacketsSent} pkts · dropped ${t.DroppedPacketsIncoming}/${t.DroppedPacketsOutgoing}`;

const addresses = (e: EndpointWire): string => e.IpConfigurations.map((c) => c.IpAddress).join(", ");

/** The graph of `objects`, endpoints carrying their counters from `traffic` (by endpoint ID). */
export function topology(objects: Objects, traffic: ReadonlyMap<string, EndpointStats>): Topology {
  const networkIds = new Set(objects.networks.map((n) => n.ID));
  const nodes: TopologyNode[] = objects.networks.map((n) => {
    const subnets = n.Ipams.flatMap((i) => i.Subnets.map((s) => s.IpAddressPrefix));
    return {
      id: `network:${n.ID}`,
      kind: "network",
      name: n.Name,
      label: `${n.Name} (${n.Type}) ${subnets.join(" ")}`,
      details: [n.Type, ...subnets, `bridge ${n.Bridge}`, ...n.Policies.map(policyText)],
    };
  });

  const hosts = new Map<string, TopologyNode>();
  const endpoints: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  for (const e of objects.endpoints) {
    const network = networkIds.has(e.HostComputeNetwork) ? `network:${e.HostComputeNetwork}` : undefined;
    const host = hostOf(e);
    let parent = network;
    if (host !== undefined && network !== undefined) {
      parent = `host:${e.HostComputeNetwork}:${host}`;
      if (!hosts.has(parent))
        hosts.set(parent, {
          id: parent,
          kind: "host",
          name: host,
          parent: network,
          label: `host ${host}`,
          details: [],
        });
    }
    const stats = traffic.get(e.ID);
    const counted = stats !== undefined && hasTraffic(e);
    const policies = e.Policies.filter((p) => p.Type !== "ProviderAddress").map(policyText);
    endpoints.push({
      id: `endpoint:${e.ID}`,
      kind: "endpoint",
      name: e.Name,
      ...(parent === undefined ? {} : { parent }),
      label: [e.Name, addresses(e), ...(counted ? [trafficText(stats)] : [])].join("\n"),
      details: [
        ...e.IpConfigurations.map((c) => c.IpAddress),
        host === undefined ? `veth ${e.HostInterfaceName}` : `on host ${host}`,
        ...(e.InterfaceName === null ? [] : [`interface ${e.InterfaceName}`]),
        ...(e.HostComputeNamespace === null && e.Sandbox === undefined && host === undefined
          ? ["detached"]
          : []),
        `MAC ${e.MacAddress}`,
        ...policies,
      ],
      ...(counted ? { traffic: stats } : {}),
    });
    if (e.HostComputeNamespace !== null)
      edges.push({
        id: `attached:${e.ID}`,
        kind: "attached",
        source: `endpoint:${e.ID}`,
        target: `namespace:${e.HostComputeNamespace}`,
      });
  }

  const namespaces: TopologyNode[] = objects.namespaces.map((ns) => ({
    id: `namespace:${ns.ID}`,
    kind: "namespace",
    name: ns.Name,
    label: `netns ${ns.Name}`,
    details: [ns.Path, ns.Owned ? "made by hostnet" : "adopted"],
  }));

  const loadBalancers: TopologyNode[] = objects.loadBalancers.map((lb) => {
    const ports = lb.PortMappings.map(
      (m) => `${m.ExternalPort}→${m.InternalPort}/${protocolName(m.Protocol)}`,
    );
    const frontends = lb.FrontendVIPs.length === 0 ? "NodePort" : lb.FrontendVIPs.join(" ");
    for (const backend of lb.HostComputeEndpoints)
      edges.push({
        id: `backend:${lb.ID}:${backend}`,
        kind: "backend",
        source: `lb:${lb.ID}`,
        target: `endpoint:${backend}`,
      });
    return {
      id: `lb:${lb.ID}`,
      kind: "loadbalancer",
      name: lb.Name,
      label: `${lb.Name}\n${frontends} ${ports.join(" ")}`,
      details: [frontends, ...ports, `${lb.HostComputeEndpoints.length} backends`],
    };
  });

  const all = [...nodes, ...hosts.values(), ...namespaces, ...loadBalancers, ...endpoints];
  // An object may name one that a concurrent change removed between two list answers: no edge to nowhere.
  const ids = new Set(all.map((n) => n.id));
  return { nodes: all, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}
