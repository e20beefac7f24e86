/**
 * Overlay: a NAT network whose bridge also has a VXLAN port to the same network on other hosts. Each host
 * has the gateway on its own bridge and masquerades its own endpoints. Remote endpoints are static: a FDB
 * entry sends their MAC to their host, and the bridge answers ARP for their address itself, so the VXLAN
 * floods and learns nothing. A routed overlay (RemoteSubnetRoute policies) instead routes each other host's
 * subnet to that host's bridge, the subnet's router, through the same VXLAN port.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, overlayBridgeMac, vxlanName } from "../dataplane/naming.js";
import { ipFromValue, parsePrefix } from "../model/ip.js";
import type { RemoteSubnetRoutePolicy } from "../model/policy.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import type { NetworkMode } from "./mode.js";
import { nat } from "./nat.js";

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;

/**
 * The next hop of a remote subnet: its network address, which no endpoint has, so the neighbour entry that
 * gives it the remote router's MAC is never another's (flannel's VXLAN backend does the same).
 */
export const remoteRouterAddress = (destinationPrefix: string): string => {
  const prefix = parsePrefix("DestinationPrefix", destinationPrefix);
  return ipFromValue(prefix.family, prefix.first);
};

function remoteSubnetObjects(net: Network, r: RemoteSubnetRoutePolicy): KernelObject[] {
  const owner = `net:${net.id}` as const;
  const bridge = bridgeName(net.shortId);
  const via = remoteRouterAddress(r.destinationPrefix);
  // As `ip -j route` shows it: a host route without its /32.
  const dst = r.destinationPrefix.endsWith("/32") ? via : r.destinationPrefix;
  return [
    { kind: "hostRoute", owner, dev: bridge, route: { family: 4, dst, via, metric: null, onlink: true } },
    {
      kind: "overlayPeer",
      owner,
      vxlan: vxlanName(net.shortId),
      bridge,
      mac: r.drMac,
      address: via,
      remote: r.providerAddress,
    },
  ];
}

export const overlay: NetworkMode = {
  ...nat,
  type: "Overlay",
  families: [4],

  networkObjects(net: Network): KernelObject[] {
    if (net.overlay === null) return nat.networkObjects(net);
    const mac = overlayBridgeMac(net.id);
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
      ...net.policies.flatMap((p) => (p.type === "RemoteSubnetRoute" ? remoteSubnetObjects(net, p) : [])),
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
