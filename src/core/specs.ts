/**
 * What the doors ask the service for, in the core's terms. A field path a door hands in (`prefixField`, an
 * ip's `field`, a port mapping's and each of its parts', a policy's `field`) is the door's own and comes back
 * unchanged in the errors about that input (a policy's setting as that path and the setting's name in the
 * policy document, which every door shares); every other field an error names is one of the core's
 * (`coreFields`, errors.ts), which each door renames.
 */
import type { DnsSpec } from "../dns/settings.js";
import type { Origin } from "../model/types.js";
import type { EndpointPolicy, NetworkPolicy } from "../policies/index.js";
import type { FieldValue, GivenPolicy, NetworkSettings, PortMappingSetting } from "../policies/kind.js";

export interface SubnetSpec {
  readonly prefix: string;
  readonly prefixField: string;
  readonly gateway?: string;
  readonly gatewayField: string;
}

/** A network as a door asks for it; its uplink and VXLAN (`adapter`, `overlay`) as its policies give them. */
export interface NetworkSpec extends NetworkSettings {
  readonly name: string;
  readonly type: string;
  readonly subnets: readonly SubnetSpec[];
  readonly mtu?: number;
  readonly interContainer?: boolean;
  readonly policies?: readonly PolicySpec<NetworkPolicy>[];
  /** Set by a client such as the Docker driver to find the network again by its own key. */
  readonly origin?: Origin;
  /** Where IPv4 addresses come from: hostnet's IPAM (default) or the LAN's DHCP server. */
  readonly ipam?: FieldValue<"static" | "dhcp">;
  /** Set when the network comes from the cluster's registry, which has it already. */
  readonly fromCluster?: true;
  readonly dns?: DnsSpec;
  /** Whether hostnet's resolver answers on the gateway; the type's default when absent. */
  readonly resolver?: FieldValue<boolean>;
}

/** The uplink NIC a network takes, by name. */
export type AdapterSpec = NonNullable<NetworkSpec["adapter"]>;

/** A port mapping as a door gives it (HNS's PortMapping policy, Docker's port map, CNI's portMappings). */
export type PortMappingSpec = PortMappingSetting;

export interface AttachSpec {
  readonly namespace: string;
  readonly ifname?: string;
}

/** An endpoint on another host (HNS's `Flags: 1`, RemoteEndpoint), as a door asks for it. */
export interface RemoteSpec {
  /** The request's field that says the endpoint is remote. */
  readonly field: string;
  /** The request's field for the endpoint's addresses, which a remote endpoint must give. */
  readonly addressesField: string;
}

export interface EndpointSpec {
  /** Required but for a remote endpoint, which is named `<address>@<network>` without one. */
  readonly name?: string;
  readonly network: string;
  readonly attach?: AttachSpec;
  /** Addresses asked for; with a prefix length, it must be that of the address's subnet. */
  readonly ips: readonly { field: string; address: string; prefixLength?: FieldValue<number> }[];
  readonly mac?: string;
  /** Of the namespace's endpoints, the highest holds its default route; 0 unless given. */
  readonly gatewayPriority?: FieldValue<number>;
  readonly portMappings: readonly PortMappingSpec[];
  readonly policies: readonly PolicySpec[];
  /** Set by a client such as the CNI plugin to find the endpoint again by its own key. */
  readonly origin?: Origin;
  readonly dns?: DnsSpec;
  /** More names the network's resolver answers for the endpoint. */
  readonly aliases?: FieldValue<readonly string[]>;
  /** Set for an endpoint on another host. */
  readonly remote?: RemoteSpec;
  /** The host a remote endpoint is on (HNS's ProviderAddress policy). */
  readonly providerAddress?: FieldValue<string>;
}

/**
 * A parsed policy and the request field it came from (`Policies[i].Settings`), for errors only the network
 * can tell.
 */
export type PolicySpec<P extends NetworkPolicy = EndpointPolicy> = GivenPolicy<P>;

/** HNS's modify request: Add appends, Remove takes out equal policies, Update replaces them all. */
export interface PolicyRequest<P extends NetworkPolicy = EndpointPolicy> {
  readonly requestType: "Add" | "Remove" | "Update";
  readonly policies: readonly PolicySpec<P>[];
}

export interface NamespaceSpec {
  readonly name: string;
  readonly path?: string;
}
