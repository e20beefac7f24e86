/**
 * What the doors ask the service for, in the core's terms. A field path a door hands in (`prefixField`, an
 * ip's `field`, a port mapping's or a policy's `field`) is the door's own and comes back unchanged in the
 * errors about that input (a setting of a port mapping or policy as that path and the setting's HNS name);
 * every other field an error names is one of the core's (`coreFields`, errors.ts), which each door renames.
 */
import type { EndpointPolicy, NetworkPolicy } from "../model/policy.js";
import type { Origin, Protocol } from "../model/types.js";

export interface SubnetSpec {
  readonly prefix: string;
  readonly prefixField: string;
  readonly gateway?: string;
  readonly gatewayField: string;
}

/** A value a door hands in, with the field it came from. */
export interface FieldValue<T> {
  readonly value: T;
  readonly field: string;
}

export interface NetworkSpec {
  readonly name: string;
  readonly type: string;
  readonly subnets: readonly SubnetSpec[];
  readonly mtu?: number;
  readonly interContainer?: boolean;
  readonly policies?: readonly PolicySpec<NetworkPolicy>[];
  /** Set by a client such as the Docker driver to find the network again by its own key. */
  readonly origin?: Origin;
  /** The uplink NIC (HNS's NetAdapterName policy), for the types that take one. */
  readonly adapter?: AdapterSpec;
  /** Where IPv4 addresses come from: hostnet's IPAM (default) or the LAN's DHCP server. */
  readonly ipam?: FieldValue<"static" | "dhcp">;
  /** Set when the network comes from the cluster's registry, which has it already. */
  readonly fromCluster?: true;
  /**
   * An overlay network's VXLAN identifier (HNS's VSID policy), UDP port (VxlanPort policy), and the bytes
   * its encapsulation takes from the underlay's MTU (EncapOverhead policy).
   */
  readonly overlay?: {
    readonly vni?: FieldValue<number>;
    readonly port?: FieldValue<number>;
    readonly overhead?: FieldValue<number>;
  };
}

/** The uplink NIC a network takes, by name. */
export interface AdapterSpec {
  readonly name: string;
  readonly field: string;
}

export interface PortMappingSpec {
  readonly field: string;
  readonly protocol: Protocol;
  readonly hostIp?: string;
  readonly hostPort: number;
  readonly internalPort: number;
}

export interface AttachSpec {
  readonly namespace: string;
  readonly ifname?: string;
}

export interface EndpointSpec {
  readonly name: string;
  readonly network: string;
  readonly attach?: AttachSpec;
  readonly ips: readonly { field: string; address: string }[];
  readonly mac?: string;
  readonly portMappings: readonly PortMappingSpec[];
  readonly policies: readonly PolicySpec[];
  /** Set by a client such as the CNI plugin to find the endpoint again by its own key. */
  readonly origin?: Origin;
}

/**
 * A parsed policy and the request field it came from (`Policies[i].Settings`), for errors only the network
 * can tell.
 */
export interface PolicySpec<P extends NetworkPolicy = EndpointPolicy> {
  readonly field: string;
  readonly policy: P;
}

/** HNS's modify request: Add appends, Remove takes out equal policies, Update replaces them all. */
export interface PolicyRequest<P extends NetworkPolicy = EndpointPolicy> {
  readonly requestType: "Add" | "Remove" | "Update";
  readonly policies: readonly PolicySpec<P>[];
}

export interface NamespaceSpec {
  readonly name: string;
  readonly path?: string;
}
