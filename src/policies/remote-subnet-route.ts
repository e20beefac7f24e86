/**
 * RemoteSubnetRoute (HNS RemoteSubnetRoute, Kubernetes' win-overlay): a subnet another host of a routed
 * overlay owns, routed through the VXLAN to that host's router, its overlay bridge. A network's own policy:
 * its endpoints get nothing of it.
 */
import { Type, type Static } from "typebox";
import { conflict, invalidArgument } from "../errors.js";
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName, vxlanName } from "../dataplane/naming.js";
import { cidrOf, ipFromValue, overlaps, parseIp, parsePrefix } from "../model/ip.js";
import { overlayBridgeMac } from "../model/overlay.js";
import type { Network } from "../model/types.js";
import { settingsObject, type PolicyKind } from "./kind.js";

export interface RemoteSubnetRoutePolicy {
  readonly type: "RemoteSubnetRoute";
  readonly destinationPrefix: string;
  /** The VXLAN network identifier, which must be the network's own. */
  readonly isolationId: number;
  /** The remote host's underlay address, where VXLAN packets for the subnet go. */
  readonly providerAddress: string;
  /** The MAC of the remote host's overlay bridge (its `DrMacAddress`). */
  readonly drMac: string;
}

export const RemoteSubnetRouteSettings = Type.Object({
  DestinationPrefix: Type.String({ description: "The other host's subnet, IPv4" }),
  IsolationId: Type.Integer({ description: "The network's VSID" }),
  ProviderAddress: Type.String({ description: "The other host's underlay address" }),
  DistributedRouterMacAddress: Type.Optional(
    Type.String({
      description:
        "The other host's bridge, the DrMacAddress of the network there; by default the one hostnet gives the provider's bridge",
    }),
  ),
});
export type RemoteSubnetRouteSettings = Static<typeof RemoteSubnetRouteSettings>;

function parseRemoteSubnetRoute(field: string, settings: unknown): RemoteSubnetRoutePolicy {
  const s = settingsObject(field, settings);
  const text = (key: string): string => {
    const v = s[key];
    if (typeof v !== "string" || v === "") throw invalidArgument(`${field}.${key}`, "is required");
    return v;
  };
  const destination = parsePrefix(`${field}.DestinationPrefix`, text("DestinationPrefix"));
  if (destination.family !== 4)
    throw invalidArgument(`${field}.DestinationPrefix`, "must be an IPv4 prefix: overlay subnets are IPv4");
  const isolationId = s["IsolationId"];
  if (typeof isolationId !== "number" || !Number.isInteger(isolationId))
    throw invalidArgument(`${field}.IsolationId`, "must be an integer, the network's VSID");
  const provider = parseIp(`${field}.ProviderAddress`, text("ProviderAddress"));
  // Without one, the router is the provider's hostnet bridge, whose MAC comes from its address.
  const mac =
    s["DistributedRouterMacAddress"] === undefined
      ? overlayBridgeMac(provider.address)
      : text("DistributedRouterMacAddress").toLowerCase().replaceAll("-", ":");
  const unicast = (parseInt(mac.slice(0, 2), 16) & 1) === 0 && mac !== "00:00:00:00:00:00";
  // HNS writes MACs with dashes (02-11-22-33-44-55); the kernel with colons.
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || !unicast)
    throw invalidArgument(`${field}.DistributedRouterMacAddress`, "must be a unicast MAC address");
  return {
    type: "RemoteSubnetRoute",
    destinationPrefix: cidrOf(destination),
    isolationId,
    providerAddress: provider.address,
    drMac: mac,
  };
}

/**
 * The next hop of a remote subnet: its network address, which no endpoint has, so the neighbour entry that
 * gives it the remote router's MAC is never another's (flannel's VXLAN backend does the same).
 */
const remoteRouterAddress = (destinationPrefix: string): string => {
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
      addresses: [via],
      remote: r.providerAddress,
    },
  ];
}

/**
 * The address a load balancer's connections to a remote endpoint leave from (nft.ts SNATs them to it): the
 * backend's host must send the replies back here, where conntrack undoes the DNAT. In a routed overlay the
 * gateway is this host's alone, in its own subnet, which every other host routes here. A network that
 * also has a shared overlay's source address (made with --etcd) keeps that one.
 */
function backendSource(net: Network): KernelObject[] {
  const gateway = net.subnets.find((s) => s.family === 4)?.gateway;
  if (gateway === undefined || net.overlay?.sourceAddress !== null) return [];
  return [
    {
      kind: "nftElement",
      owner: `net:${net.id}`,
      set: "overlaySource4",
      key: [{ t: "ifname", v: bridgeName(net.shortId) }],
      value: [{ t: "addr", v: gateway }],
    },
  ];
}

export const remoteSubnetRoute: PolicyKind<
  RemoteSubnetRoutePolicy,
  typeof RemoteSubnetRouteSettings,
  "network"
> = {
  type: "RemoteSubnetRoute",
  settings: RemoteSubnetRouteSettings,
  places: ["network"],
  singleton: false,
  parse: parseRemoteSubnetRoute,
  view: (p) => ({
    DestinationPrefix: p.destinationPrefix,
    IsolationId: p.isolationId,
    ProviderAddress: p.providerAddress,
    DistributedRouterMacAddress: p.drMac,
  }),
  networkObjects: (own, net) => [
    ...own.flatMap((r) => remoteSubnetObjects(net, r)),
    ...(own.length === 0 ? [] : backendSource(net)),
  ],
  routes: (p) => [p.destinationPrefix],
  /**
   * A network of this host only, on the network's VNI, and each remote subnet routed once, to one router,
   * clear of every network's subnets on this host.
   */
  checkOnHost({ field, policy }, after, net) {
    const at = field.replace(/\.Settings$/, "");
    if (net.overlay === null)
      throw invalidArgument(at, "RemoteSubnetRoute policies are for Overlay networks");
    if (net.clustered)
      throw invalidArgument(
        at,
        "hostnetd runs with --etcd: its Overlay networks span the cluster and learn remote endpoints from etcd; RemoteSubnetRoute is for a hostnetd with --host-address alone",
      );
    if (policy.isolationId !== net.overlay.vni)
      throw invalidArgument(`${field}.IsolationId`, `must be the network's VSID, ${net.overlay.vni}`);
    const prefix = parsePrefix(`${field}.DestinationPrefix`, policy.destinationPrefix);
    for (const s of net.subnets)
      if (overlaps(prefix, parsePrefix("subnet", s.prefix)))
        throw invalidArgument(
          `${field}.DestinationPrefix`,
          `${policy.destinationPrefix} overlaps the network's own subnet ${s.prefix}`,
        );
    for (const other of after)
      if (other !== policy && overlaps(prefix, parsePrefix("route", other.destinationPrefix)))
        throw invalidArgument(
          `${field}.DestinationPrefix`,
          `${policy.destinationPrefix} overlaps the remote subnet ${other.destinationPrefix}`,
        );
    // A router's MAC is one neighbour entry, for one next hop: one remote subnet per router.
    if (after.some((o) => o !== policy && o.drMac === policy.drMac))
      throw invalidArgument(
        `${field}.DistributedRouterMacAddress`,
        `${policy.drMac} is the router of another remote subnet already`,
      );
    if (policy.drMac === overlayBridgeMac(net.overlay.localAddress))
      throw invalidArgument(`${field}.DistributedRouterMacAddress`, "is this host's own router");
    const taken = net.overlapping(prefix);
    if (taken !== undefined)
      throw conflict(
        `${field}.DestinationPrefix: ${policy.destinationPrefix} overlaps ${taken.prefix} of network "${taken.network}"`,
        `${field}.DestinationPrefix`,
      );
  },
};
