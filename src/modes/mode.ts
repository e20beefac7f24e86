/**
 * One module per network type says which kernel objects a network and an endpoint of that type need.
 * Modes are pure: they never run commands and never read the kernel.
 */
import type { KernelObject } from "../dataplane/objects.js";
import type { Family } from "../model/ip.js";
import type { Endpoint, Namespace, Network, NetworkType } from "../model/types.js";

export interface NetworkMode {
  readonly type: NetworkType;
  /** Whether endpoints of this type may carry port mappings. */
  readonly portMappings: boolean;
  /** Whether endpoints get a default route through their subnet's gateway. */
  readonly defaultRoute: boolean;
  /**
   * Whether the network takes an uplink NIC (NetAdapterName) into its bridge, with the NIC's addresses and
   * routes, and its subnet is the LAN's: the gateway is the LAN's router, not the host.
   */
  readonly uplink: boolean;
  /** Whether endpoints may lease their IPv4 address from the LAN's DHCP server. */
  readonly dhcp: boolean;
  /** The IP families its subnets may have. */
  readonly families: readonly Family[];
  networkObjects(net: Network): KernelObject[];
  /**
   * Objects of an endpoint attached to `ns`, or handed off to a runtime (ns null); a detached endpoint has
   * none.
   */
  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[];
}
