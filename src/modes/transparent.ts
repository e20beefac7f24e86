/**
 * Transparent: containers sit directly on the physical LAN. The network's bridge takes the uplink NIC as a
 * port and takes its place on the LAN: the NIC's MAC, addresses and routes move to the bridge (and back when
 * the network goes, see core/service.ts). Endpoints have static addresses of the LAN's subnet and a default
 * route through the LAN's router; nothing is translated. Pure.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import { bridgedEndpointObjects, sameBridgeObjects } from "./bridged.js";
import type { NetworkMode } from "./mode.js";

/** The bridge in the uplink's place: its MAC, addresses and routes, and the uplink as its port. */
export function uplinkBridgeObjects(net: Network): KernelObject[] {
  const owner = `net:${net.id}` as const;
  const bridge = bridgeName(net.shortId);
  const uplink = net.uplink;
  if (uplink === null) return [{ kind: "bridge", owner, name: bridge, mtu: net.mtu }];
  return [
    { kind: "bridge", owner, name: bridge, mtu: net.mtu, mac: uplink.mac },
    ...uplink.addresses.map((cidr): KernelObject => ({
      kind: "address",
      owner,
      netns: null,
      dev: bridge,
      cidr,
    })),
    { kind: "uplinkPort", owner, dev: uplink.dev, master: bridge },
    ...uplink.routes.map((route): KernelObject => ({ kind: "hostRoute", owner, dev: bridge, route })),
  ];
}

export const transparent: NetworkMode = {
  type: "Transparent",
  portMappings: false,
  defaultRoute: true,
  uplink: true,

  networkObjects(net: Network): KernelObject[] {
    return [...uplinkBridgeObjects(net), ...sameBridgeObjects(net)];
  },

  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
    return bridgedEndpointObjects(ep, net, ns, true);
  },
};
