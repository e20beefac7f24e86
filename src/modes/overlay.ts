/**
 * Overlay: a NAT network whose bridge also has a VXLAN port to the same network on other hosts. Each host
 * has the gateway on its own bridge and masquerades its own endpoints. Remote endpoints are static: a FDB
 * entry sends their MAC to their host, and the bridge answers ARP for their address itself, so the VXLAN
 * floods and learns nothing. A routed overlay (RemoteSubnetRoute policies) instead routes each other host's
 * subnet to that host's bridge, the subnet's router, through the same VXLAN port; a remote endpoint there
 * (declared through the API) needs no entry of its own to be reached, only to be SNATed as a backend.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, vxlanName } from "../dataplane/naming.js";
import { overlayBridgeMac } from "../model/overlay.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import { networkPolicyObjects } from "../policies/objects.js";
import type { NetworkMode } from "./mode.js";
import { nat } from "./nat.js";
import { refuseUplink } from "./settings.js";
import { underlayMtu, vxlanSettings } from "./vxlan.js";

export const overlay: NetworkMode = {
  ...nat,
  type: "Overlay",
  families: [4, 6],

  validate(spec, host) {
    vxlanSettings(spec, host);
    refuseUplink("Overlay", spec);
  },

  async prepare(spec, host) {
    const vxlan = vxlanSettings(spec, host);
    if (spec.mtu !== undefined) return { overlay: vxlan, uplink: null };
    return { overlay: vxlan, uplink: null, mtu: await underlayMtu(vxlan, spec.overlay?.overhead, host) };
  },

  networkObjects(net: Network): KernelObject[] {
    if (net.overlay === null) return nat.networkObjects(net);
    const owner = `net:${net.id}` as const;
    const bridge = bridgeName(net.shortId);
    // A bridge takes the lowest MAC of its ports unless it has its own, and a change of MAC flushes its
    // neighbour table, peers' permanent entries included: every new endpoint would have cut the others off.
    const mac = overlayBridgeMac(net.overlay.localAddress);
    const source = net.overlay.sourceAddress;
    return [
      ...nat.networkObjects(net).map((o) => (o.kind === "bridge" ? { ...o, mac } : o)),
      {
        kind: "vxlan",
        owner,
        name: vxlanName(net.shortId),
        vni: net.overlay.vni,
        port: net.overlay.vxlanPort,
        local: net.overlay.localAddress,
        master: bridge,
        mtu: net.mtu,
      },
      // A /32 beside the gateway: the host's own traffic keeps leaving from the gateway address.
      ...(source === null
        ? []
        : [
            { kind: "address", owner, netns: null, dev: bridge, cidr: `${source}/32` } as const,
            {
              kind: "nftElement",
              owner,
              set: "overlaySource4",
              key: [{ t: "ifname", v: bridge }],
              value: [{ t: "addr", v: source }],
            } as const,
          ]),
      ...networkPolicyObjects(net),
    ];
  },

  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
    if (ep.remoteHost === null) return nat.endpointObjects(ep, net, ns);
    const owner = `ep:${ep.id}` as const;
    const bridge = bridgeName(net.shortId);
    // A routed overlay's remote endpoint is in a remote subnet, which its RemoteSubnetRoute carries there.
    const routed = ep.addresses.every((a) => a.subnetId === null);
    return [
      ...(routed
        ? []
        : [
            {
              kind: "overlayPeer",
              owner,
              vxlan: vxlanName(net.shortId),
              bridge,
              mac: ep.mac,
              addresses: ep.addresses.map((a) => a.address),
              remote: ep.remoteHost,
            } as const,
          ]),
      // Load balancer backends on other hosts are reached from this host's IPv4 source address only.
      ...ep.addresses
        .filter((a) => a.family === 4)
        .map((a): KernelObject => ({
          kind: "nftElement",
          owner,
          set: "overlayRemote4",
          key: [
            { t: "ifname", v: bridge },
            { t: "addr", v: a.address },
          ],
          value: null,
        })),
    ];
  },
};
