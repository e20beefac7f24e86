/**
 * The kernel names the doors show for hostnet's objects (HNS's `Bridge` and `HostInterfaceName`, Docker's
 * `SrcName`, CNI's host interface), so that no door needs to know how the dataplane names things.
 */
import { bridgeName, handoffVethName, hostVethName } from "../dataplane/naming.js";
import type { Endpoint, Network } from "../model/types.js";

/** The bridge that carries the network. */
export const networkBridge = (net: Pick<Network, "shortId">): string => bridgeName(net.shortId);

/** The host end of the endpoint's veth, the port of its network's bridge. */
export const endpointHostInterface = (ep: Pick<Endpoint, "shortId">): string => hostVethName(ep.shortId);

/** The container end of a handed-off endpoint's veth, until the runtime moves and renames it. */
export const endpointHandoffInterface = (ep: Pick<Endpoint, "shortId">): string =>
  handoffVethName(ep.shortId);
