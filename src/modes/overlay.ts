/**
 * Overlay: a NAT network whose bridge also has a VXLAN port to the same network on other hosts. Each host
 * has the gateway on its own bridge and masquerades its own endpoints. Remote endpoints are static: a FDB
 * entry sends their MAC to their host, and the bridge answers ARP for their address itself, so the VXLAN
 * floods and learns nothing.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, vxlanName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import type { NetworkMode } from "./mode.js";
import { nat } from "./nat.js";

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;

export const overlay: NetworkMode = {
  ...nat,
  type: "Overlay",
  families: [4],

  networkObjects(net: Network): KernelObject[] {
    if (net.overlay === null) return nat.networkObjects(net);
    // A bridge takes the lowest MAC of its ports unless it has its own, and a change of MAC flushes its
    // neighbour table, peers' permanent entries included: every new endpoint would have cut the others off.
    const mac = `02:68:6e:${net.id.slice(0, 2)}:${net.id.slice(2, 4)}:${net.id.slice(4, 6)}`;
    return [
      ...nat.networkObjects(net).map((o) => (o.kind === "bridge" ? { ...o, mac } : o)),
      {
        kind: "vxlan",
        owner: `net:${net.id}`,
        name: vxlanName(net.shortId),
        vni: net.overlay.vni,
        port: net.overlay.vxlanPort,
        local: net.overlay.localAddress,
        master: bridgeName(net.shortId),
        mtu: net.mtu,
      },
    ];
  },

  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
    if (ep.remoteHost === null) return nat.endpointObjects(ep, net, ns);
    return ep.addresses.map((a): KernelObject => ({
      kind: "overlayPeer",
      owner: `ep:${ep.id}`,
      vxlan: vxlanName(net.shortId),
      bridge: bridgeName(net.shortId),
      mac: ep.mac,
      address: a.address,
      remote: ep.remoteHost ?? "",
    }));
  },
};
