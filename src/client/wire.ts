/**
 * The JSON of hostnetd's REST API as the client sees it. These mirror src/api/rest/wire.ts by hand
 * because the client may import only node: built-ins (it is bundled into the CNI shim);
 * test/unit/cli/wire.test.ts checks at compile time that the two stay in step.
 */

export interface SchemaVersion {
  readonly Major: number;
  readonly Minor: number;
}

export interface Route {
  readonly NextHop: string;
  readonly DestinationPrefix?: string;
}

export interface Subnet {
  readonly IpAddressPrefix: string;
  readonly Routes?: readonly Route[];
}

export interface Ipam {
  readonly Type?: "Static" | "DHCP";
  readonly Subnets: readonly Subnet[];
}

export interface NetworkRequest {
  readonly Name: string;
  readonly Type?: string;
  readonly Ipams?: readonly Ipam[];
  readonly Mtu?: number;
  readonly InterContainer?: boolean;
  readonly Policies?: readonly Policy[];
}

export interface Network {
  readonly ID: string;
  readonly Name: string;
  readonly Type: string;
  readonly Ipams: readonly Ipam[];
  readonly Mtu: number;
  readonly InterContainer: boolean;
  readonly Bridge: string;
  /** Overlay networks: this host's bridge MAC, which other hosts' RemoteSubnetRoute policies name. */
  readonly DrMacAddress?: string;
  readonly Policies: readonly Policy[];
  readonly Flags: number;
  readonly SchemaVersion: SchemaVersion;
  readonly CreatedAt: string;
  /** The client that made the network, e.g. docker and Docker's network id. */
  readonly Origin?: { readonly Kind: string; readonly Key: string };
}

export interface Policy {
  readonly Type: string;
  readonly Settings: unknown;
}

/** A policy as `GET /endpoints/{ref}/policies` lists it: ACLs with what their rules matched so far. */
export interface CountedPolicy extends Policy {
  readonly Counters?: { readonly Packets: number; readonly Bytes: number };
}

/** Settings of a PortMapping policy. The API answers with protocol numbers (6, 17) and accepts names too. */
export interface PortMappingSettings {
  readonly Protocol: "TCP" | "UDP" | 6 | 17;
  readonly InternalPort: number;
  readonly ExternalPort: number;
  readonly VIP?: string;
}

/**
 * Settings of an ACL policy as hostnetd shows them: every key present, lists comma-separated, protocols as
 * numbers and "" for any. Sent in this form, a policy reads back unchanged.
 */
export interface AclSettings {
  readonly Action: "Allow" | "Block";
  /** From the endpoint's point of view: In is traffic arriving at it. */
  readonly Direction: "In" | "Out";
  readonly Protocols: string;
  readonly LocalAddresses: string;
  readonly RemoteAddresses: string;
  readonly LocalPorts: string;
  readonly RemotePorts: string;
  /** 1 to 65500; lower is evaluated first. */
  readonly Priority: number;
}

/** Settings of a QOS policy, in bytes per second; at least one is present. */
export interface QosSettings {
  readonly MaximumOutgoingBandwidthInBytes?: number;
  readonly MaximumIncomingBandwidthInBytes?: number;
}

/**
 * Settings of a routed overlay network's RemoteSubnetRoute: another host's subnet, routed through the VXLAN
 * to that host's bridge. IsolationId is the network's VSID; the MAC defaults to the provider's bridge's.
 */
export interface RemoteSubnetRouteSettings {
  readonly DestinationPrefix: string;
  readonly IsolationId: number;
  readonly ProviderAddress: string;
  readonly DistributedRouterMacAddress?: string;
}

/** POST /endpoints/{ref}/policies: Add appends, Remove takes out equal policies, Update replaces them all. */
export interface PolicyRequest {
  readonly RequestType: "Add" | "Remove" | "Update";
  readonly Policies: readonly Policy[];
}

export interface IpConfiguration {
  readonly IpAddress: string;
  readonly PrefixLength?: number;
}

export interface EndpointRequest {
  readonly Name: string;
  readonly HostComputeNetwork: string;
  readonly HostComputeNamespace?: string;
  readonly InterfaceName?: string;
  readonly IpConfigurations?: readonly IpConfiguration[];
  readonly MacAddress?: string;
  readonly Policies?: readonly Policy[];
}

export interface Endpoint {
  readonly ID: string;
  readonly Name: string;
  /** The network's ID. */
  readonly HostComputeNetwork: string;
  /** The namespace's ID, null while detached. */
  readonly HostComputeNamespace: string | null;
  readonly InterfaceName: string | null;
  readonly HostInterfaceName: string;
  /** Where a runtime that configures the interface itself (Docker) put it. */
  readonly Sandbox?: string;
  readonly IpConfigurations: readonly IpConfiguration[];
  readonly MacAddress: string;
  readonly Routes: readonly Route[];
  readonly Policies: readonly Policy[];
  readonly Flags: number;
  readonly SchemaVersion: SchemaVersion;
}

export interface AttachRequest {
  readonly HostComputeNamespace: string;
  readonly InterfaceName?: string;
}

export interface NamespaceRequest {
  readonly Name: string;
  readonly Path?: string;
}

export interface Namespace {
  readonly ID: string;
  readonly Name: string;
  readonly Path: string;
  readonly Type: "Guest";
  readonly Owned: boolean;
  readonly Resources: readonly { readonly Type: "Endpoint"; readonly Id: string }[];
  readonly SchemaVersion: SchemaVersion;
}

export interface PlanOperation {
  /** create, replace or delete. */
  readonly Action: string;
  readonly Kind: string;
  readonly Object: string;
}

export interface Plan {
  readonly Operations: readonly PlanOperation[];
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export interface LbPortMapping {
  /** 6 or "TCP", 17 or "UDP". */
  readonly Protocol: number | string;
  readonly InternalPort: number;
  readonly ExternalPort: number;
  /** 1: ILB, reachable only from the host's containers; 2: LocalRoutedVip, and from the host; 4: IPv6. */
  readonly Flags?: number;
  /** 0: random per connection; 1 or 2: a client keeps its backend (source-IP affinity). */
  readonly DistributionType?: number;
}

export interface LoadBalancerRequest {
  readonly Name?: string;
  /** Backend endpoint ids or names. */
  readonly HostComputeEndpoints: readonly string[];
  readonly FrontendVIPs: readonly string[];
  readonly PortMappings: readonly LbPortMapping[];
  readonly Flags?: number;
  readonly SourceVIP?: string;
}

export interface LoadBalancer {
  readonly ID: string;
  readonly Name: string;
  /** Backend endpoint ids. */
  readonly HostComputeEndpoints: readonly string[];
  readonly FrontendVIPs: readonly string[];
  readonly PortMappings: readonly LbPortMapping[];
  readonly Flags: number;
  readonly SourceVIP?: string;
  readonly CreatedAt: string;
}

export interface BackendRequest {
  readonly RequestType: "Add" | "Remove";
  readonly HostComputeEndpoints: readonly string[];
}

/** GET /info (src/api/rest/info.ts). */
export interface Info {
  readonly Version: string;
  readonly Commit: string;
  readonly Kernel: {
    readonly Release: string;
    readonly Features: Readonly<Record<string, "built-in" | "loaded" | "module" | "missing" | "unknown">>;
  };
  /** How many, by network type. */
  readonly Networks: Readonly<Record<string, number>>;
  readonly Endpoints: Readonly<Record<string, number>>;
  readonly Etcd: {
    readonly State: "off" | "connected" | "unreachable";
    readonly Endpoints: readonly string[];
  };
  readonly Socket: string;
  readonly Store: string;
}
