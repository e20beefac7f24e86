/**
 * Overlay: a NAT network whose bridge also has a VXLAN port to the same network on other hosts. Each host
 * has the gateway on its own bridge and masquerades its own endpoints. Remote endpoints are static: a FDB
 * entry sends their MAC to their host, and the bridge answers ARP for their address itself, so the VXLAN
 * floods and learns nothing.
 */
import { createHash } from "node:crypto";
import { isIPv4 } from "node:net";
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, vxlanName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import type { NetworkMode } from "./mode.js";
import { nat } from "./nat.js";

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;

/**
 * The MAC of a host's bridges of overlay networks, which is also the MAC other hosts send the host's source
 * address to: distinct per host, so it comes from its underlay address (an IPv4 one is the MAC's last four
 * bytes). Its first byte, 0x0a, is one no endpoint's random MAC (02:…) has, so a remote endpoint with this
 * MAC is its host's source address.
 */
export function overlayBridgeMac(hostAddress: string): string {
  const bytes = isIPv4(hostAddress)
    ? hostAddress.split(".").map(Number)
    : [...createHash("sha256").update(hostAddress).digest().subarray(0, 4)];
  return [0x0a, 0x68, ...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export const overlay: NetworkMode = {
  ...nat,
  type: "Overlay",
  families: [4],

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
    ];
  },

  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
    if (ep.remoteHost === null) return nat.endpointObjects(ep, net, ns);
    const owner = `ep:${ep.id}` as const;
    const bridge = bridgeName(net.shortId);
    return ep.addresses.flatMap((a): KernelObject[] => [
      {
        kind: "overlayPeer",
        owner,
        vxlan: vxlanName(net.shortId),
        bridge,
        mac: ep.mac,
        address: a.address,
        remote: ep.remoteHost ?? "",
      },
      {
        kind: "nftElement",
        owner,
        set: "overlayRemote4",
        key: [
          { t: "ifname", v: bridge },
          { t: "addr", v: a.address },
        ],
        value: null,
      },
    ]);
  },
};
