/**
 * One module per network type says which kernel objects a network and an endpoint of that type need, and
 * what a new network of the type must be given and gets. Modes are pure: they never run commands and never
 * read the kernel; what they need of the host comes in as a ModeHost.
 */
import type { AdapterSpec, NetworkSpec } from "../core/specs.js";
import type { KernelObject } from "../dataplane/objects.js";
import type { Family } from "../model/ip.js";
import type {
  Endpoint,
  Namespace,
  Network,
  NetworkType,
  OverlaySettings,
  UplinkSnapshot,
} from "../model/types.js";

/** What a mode may ask of the host about a new network. */
export interface ModeHost {
  /** This host's underlay address (hostnetd --host-address), if it has one. */
  readonly hostAddress: string | undefined;
  /** Whether hostnetd runs with --etcd, so that overlay networks are the cluster's. */
  readonly clustered: boolean;
  /** The MTU of the interface that has this address, if one has. */
  interfaceMtu(address: string): Promise<number | undefined>;
  /** The uplink NIC as it is now; refused, naming its field, if another network has it or it cannot be one. */
  takeUplink(adapter: AdapterSpec): Promise<UplinkSnapshot>;
}

/** What a new network gets from its type. */
export interface PreparedNetwork {
  /** The VXLAN of a type that has one: such a network is the cluster's when hostnetd runs with --etcd. */
  readonly overlay: OverlaySettings | null;
  /** The uplink NIC of a type that takes one, as it was: its LAN is the network's when no subnet is given. */
  readonly uplink: UplinkSnapshot | null;
  /** The MTU when the spec gives none, where the type's underlay decides it. */
  readonly mtu?: number;
}

export interface NetworkMode {
  readonly type: NetworkType;
  /** Whether endpoints of this type may carry port mappings. */
  readonly portMappings: boolean;
  /** Whether endpoints get a default route through their subnet's gateway. */
  readonly defaultRoute: boolean;
  /** Whether endpoints may lease their IPv4 address from the LAN's DHCP server. */
  readonly dhcp: boolean;
  /** The IP families its subnets may have. */
  readonly families: readonly Family[];
  /**
   * Whether the host has the gateway addresses on the network, where hostnet's resolver answers its
   * endpoints: on by default for such a type, impossible for the others.
   */
  readonly resolver: boolean;
  /**
   * Refuses, with InvalidArgument naming the field, what a network of this type cannot be: a setting only
   * other types take, or one this type needs and the spec lacks.
   */
  validate(spec: NetworkSpec, host: ModeHost): void;
  /** The type's own settings of a new network whose spec `validate` accepted, read from the host. */
  prepare(spec: NetworkSpec, host: ModeHost): Promise<PreparedNetwork>;
  networkObjects(net: Network): KernelObject[];
  /**
   * Objects of an endpoint attached to `ns`, or handed off to a runtime (ns null); a detached endpoint has
   * none.
   */
  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[];
}
