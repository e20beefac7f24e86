/**
 * Private and Internal: networks closed to the outside. Nothing is routed between their bridge and any other
 * interface (the `closed` chain of table inet hostnet), so containers reach only each other; Internal puts
 * the gateway address on the bridge so the host reaches them too, Private leaves the host off the network
 * (no address, and no IPv6 link-local one either). Neither takes port mappings. Pure.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network, NetworkType } from "../model/types.js";
import { bridgedEndpointObjects, bridgeObjects, sameBridgeObjects } from "./bridged.js";
import type { NetworkMode } from "./mode.js";
import { prepareNothing, refuseUplink, refuseVxlan } from "./settings.js";

function closedMode(type: NetworkType, hostOnNetwork: boolean): NetworkMode {
  return {
    type,
    portMappings: false,
    defaultRoute: false,
    families: [4, 6],
    dhcp: false,
    resolver: hostOnNetwork,

    validate(spec) {
      refuseVxlan(type, spec);
      refuseUplink(type, spec);
    },
    prepare: prepareNothing,

    networkObjects(net: Network): KernelObject[] {
      const owner = `net:${net.id}` as const;
      const bridge = bridgeName(net.shortId);
      const objects = bridgeObjects(net, hostOnNetwork);
      objects.push(
        { kind: "nftElement", owner, set: "closedBridges", key: [{ t: "ifname", v: bridge }], value: null },
        ...sameBridgeObjects(net),
      );
      if (!hostOnNetwork)
        objects.push({ kind: "sysctl", owner, key: `net/ipv6/conf/${bridge}/disable_ipv6`, value: "1" });
      return objects;
    },

    endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
      return bridgedEndpointObjects(ep, net, ns, {
        defaultRoute: false,
        isolated: false,
        linkLocal6WithoutIpv6: false,
      });
    },
  };
}

export const privateMode = closedMode("Private", false);
export const internalMode = closedMode("Internal", true);
