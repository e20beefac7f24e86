/**
 * What every bridge-based mode shares: the bridge with gateway addresses, and a veth per endpoint whose
 * container end carries the endpoint's MAC, addresses and default routes.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, handoffVethName, hostVethName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";

export function bridgeObjects(net: Network): KernelObject[] {
  const owner = `net:${net.id}` as const;
  const bridge = bridgeName(net.shortId);
  return [
    { kind: "bridge", owner, name: bridge, mtu: net.mtu },
    ...net.subnets.map((s): KernelObject => ({
      kind: "address",
      owner,
      netns: null,
      dev: bridge,
      cidr: `${s.gateway}/${s.prefix.split("/")[1] ?? ""}`,
    })),
  ];
}

/**
 * The endpoint's veth. Attached to a namespace, hostnet configures the container end there; handed off,
 * the container end waits in hostnetd's namespace with the endpoint's MAC, and the runtime moves it and
 * gives it its addresses and routes.
 */
export function vethObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
  if (ep.attachment === null) return [];
  const owner = `ep:${ep.id}` as const;
  const host = {
    kind: "veth",
    owner,
    name: hostVethName(ep.shortId),
    master: bridgeName(net.shortId),
    mtu: net.mtu,
    hairpin: true,
  } as const;
  if (ep.attachment.kind === "handoff" || ns === null)
    return [{ ...host, peer: handoffVethName(ep.shortId), netns: null, peerMac: ep.mac }];
  const dev = ep.attachment.ifname;
  const netns = ns.path;
  const objects: KernelObject[] = [
    { ...host, peer: dev, netns },
    { kind: "containerLink", owner, netns, name: dev, mac: ep.mac },
  ];
  for (const a of ep.addresses) {
    objects.push({ kind: "address", owner, netns, dev, cidr: `${a.address}/${a.prefixLength}` });
    const subnet = net.subnets.find((s) => s.id === a.subnetId);
    if (subnet !== undefined)
      objects.push({
        kind: "route",
        owner,
        netns,
        family: a.family,
        dst: "default",
        via: subnet.gateway,
        dev,
      });
  }
  return objects;
}
