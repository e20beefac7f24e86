/**
 * What every bridge-based mode shares: the bridge with gateway addresses, and a veth per endpoint whose
 * container end carries the endpoint's MAC, addresses and default routes (gateway-routes.ts).
 */
import { createHash } from "node:crypto";
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, handoffVethName, hostVethName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import { endpointPolicyObjects } from "../policies/objects.js";
import { antiSpoofObjects } from "./antispoof.js";
import { gatewayRoutes } from "./gateway-routes.js";

/**
 * The MAC of a network's bridge. One without a MAC of its own takes the lowest of its ports' and changes it
 * when that port goes: the endpoints' neighbour entries for the gateway then name a MAC no port has, and what
 * they send it (DNS queries to the resolver) is flooded to the other ports until the entry is probed again,
 * seconds later. Fixed, from the network's id so that every converge asks for the same; its first byte, 0x06,
 * is neither an endpoint's (02:) nor an overlay bridge's (0a:).
 */
export const bridgeMac = (networkId: string): string =>
  [0x06, ...createHash("sha256").update(networkId).digest().subarray(0, 5)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join(":");

/** The network's bridge; `withGateway` gives it each subnet's gateway address, so the host is on the network. */
export function bridgeObjects(net: Network, withGateway: boolean): KernelObject[] {
  const owner = `net:${net.id}` as const;
  const bridge = bridgeName(net.shortId);
  const objects: KernelObject[] = [
    { kind: "bridge", owner, name: bridge, mtu: net.mtu, mac: bridgeMac(net.id) },
  ];
  if (withGateway)
    for (const s of net.subnets)
      objects.push({
        kind: "address",
        owner,
        netns: null,
        dev: bridge,
        cidr: `${s.gateway}/${s.prefix.split("/")[1] ?? ""}`,
      });
  return objects;
}

/** Endpoints of the network reach each other, unless it was made with InterContainer false. */
export function sameBridgeObjects(net: Network): KernelObject[] {
  if (!net.interContainer) return [];
  const bridge = { t: "ifname", v: bridgeName(net.shortId) } as const;
  return [
    { kind: "nftElement", owner: `net:${net.id}`, set: "sameBridge", key: [bridge, bridge], value: null },
  ];
}

/** How a mode plugs endpoints in. */
export interface PortShape {
  /** A default route through each subnet's gateway. */
  readonly defaultRoute: boolean;
  /** An isolated bridge port, which reaches the uplink and the host but no other container. */
  readonly isolated: boolean;
  /**
   * Whether an endpoint without IPv6 addresses keeps its IPv6 link-local address. On a LAN, routers may
   * advertise prefixes to it. On a bridge of hostnet's own nobody does, and the link-local chatter of each
   * new container (DAD, router solicitations, MLD reports) is multicast that the bridge floods to every
   * other port: work that grows with the number of endpoints (bench/endpoint's create+attach grew 1.2-1.3x
   * over 500 endpoints, and was flat without it).
   */
  readonly linkLocal6WithoutIpv6: boolean;
}

/**
 * The endpoint's veth. Attached to a namespace, hostnet configures the container end there; handed off,
 * the container end waits in hostnetd's namespace with the endpoint's MAC, and the runtime moves it and
 * gives it its addresses and routes.
 */
function vethObjects(ep: Endpoint, net: Network, ns: Namespace | null, shape: PortShape): KernelObject[] {
  if (ep.attachment === null) return [];
  const owner = `ep:${ep.id}` as const;
  const host = {
    kind: "veth",
    owner,
    name: hostVethName(ep.shortId),
    master: bridgeName(net.shortId),
    mtu: net.mtu,
    hairpin: true,
    isolated: shape.isolated,
  } as const;
  if (ep.attachment.kind === "handoff" || ns === null)
    return [{ ...host, peer: handoffVethName(ep.shortId), netns: null, peerMac: ep.mac }];
  const dev = ep.attachment.ifname;
  const netns = ns.path;
  const objects: KernelObject[] = [
    { ...host, peer: dev, netns },
    {
      kind: "containerLink",
      owner,
      netns,
      name: dev,
      mac: ep.mac,
      ...(shape.linkLocal6WithoutIpv6 || ep.addresses.some((a) => a.family === 6)
        ? {}
        : { noLinkLocal6: true as const }),
    },
  ];
  for (const a of ep.addresses) {
    objects.push({ kind: "address", owner, netns, dev, cidr: `${a.address}/${a.prefixLength}` });
    const subnet = net.subnets.find((s) => s.id === a.subnetId);
    if (subnet !== undefined && shape.defaultRoute)
      objects.push(...gatewayRoutes(owner, netns, ep.attachment, ep.gatewayPriority, a, subnet.gateway));
  }
  return objects;
}

/** What every attached endpoint of a bridge-based mode has: its veth, and its policies in force. */
export function bridgedEndpointObjects(
  ep: Endpoint,
  net: Network,
  ns: Namespace | null,
  shape: PortShape,
): KernelObject[] {
  if (ep.attachment === null) return [];
  return [...vethObjects(ep, net, ns, shape), ...antiSpoofObjects(ep), ...endpointPolicyObjects(ep, net, ns)];
}

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
