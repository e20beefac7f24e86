/**
 * Networks: created with their subnets, uplink and policies in one store transaction, then converged (and,
 * for a network shared with the cluster, defined there); deleted with their endpoints.
 */
import { conflict, HostnetError, invalidArgument } from "../errors.js";
import { cidrOf } from "../model/ip.js";
import {
  networkTypes,
  type Network,
  type NetworkType,
  type Origin,
  type OverlaySettings,
  type UplinkSnapshot,
} from "../model/types.js";
import { checkAclTiers } from "../modes/acl.js";
import { modes } from "../modes/index.js";
import { DEFAULT_VXLAN_PORT, VXLAN_OVERHEAD } from "../modes/overlay.js";
import { balancersOf, freshId, getNetwork, type Core } from "./context.js";
import { clusterOf, defineNetwork, releaseAddresses, undefineNetwork } from "./overlay.js";
import { checkPolicies, checkRemoteSubnets } from "./policies.js";
import type { AdapterSpec, FieldValue, NetworkSpec } from "./specs.js";
import { defaultSubnet, overlapping, parseSubnet } from "./subnets.js";
import { checkUplinkFree, lanSubnet, restoreUplinks, takeUplink } from "./uplinks.js";
import { checkMtu, checkName, checkPort, MIN_MTU } from "./validate.js";

const DEFAULT_MTU = 1500;

/** The network a client made under its own key, if there is one. */
export function networkByOrigin(core: Core, origin: Origin): Network | undefined {
  const id = core.store.networkIdByOrigin(origin);
  return id === undefined ? undefined : core.store.network(id);
}

export async function createNetwork(core: Core, spec: NetworkSpec): Promise<Network> {
  const { store } = core;
  const name = checkName("Name", spec.name);
  const type = networkTypes.find((t) => t.toLowerCase() === spec.type.toLowerCase());
  if (type === undefined)
    throw invalidArgument(
      "Type",
      `network type "${spec.type}" is not supported (supported: ${networkTypes.join(", ")})`,
    );
  const given = spec.subnets.map(parseSubnet);
  const families = new Set<number>();
  for (const [i, s] of given.entries()) {
    const field = spec.subnets[i]?.prefixField ?? "Ipams";
    if (!modes[type].families.includes(s.prefix.family))
      throw invalidArgument(field, `${type} networks have no IPv${s.prefix.family} subnets`);
    if (families.has(s.prefix.family))
      throw invalidArgument(field, `a network has at most one IPv${s.prefix.family} subnet`);
    families.add(s.prefix.family);
  }
  if (spec.ipam?.value === "dhcp" && !modes[type].dhcp)
    throw invalidArgument(spec.ipam.field, `${type} networks have no DHCP server to lease addresses from`);
  const overlay = type === "Overlay" ? overlaySettings(core, spec, given.length) : null;
  if (overlay === null) refuseOverlayPolicies(type, spec.overlay);
  const overhead = spec.overlay?.overhead;
  if (overhead !== undefined && (!Number.isInteger(overhead.value) || overhead.value < 0))
    throw invalidArgument(overhead.field, "must be a whole number of bytes, 0 or more");
  const overlayMtu =
    overlay === null || spec.mtu !== undefined ? undefined : await underlayMtu(core, overlay, overhead);
  const uplink = await uplinkOf(core, type, spec.adapter);
  const mtu = spec.mtu !== undefined ? checkMtu("Mtu", spec.mtu) : (uplink?.mtu ?? overlayMtu ?? DEFAULT_MTU);
  const subnets =
    given.length > 0 ? given : [uplink === undefined ? await defaultSubnet(core) : lanSubnet(uplink)];
  const shape = { name, type, overlay, subnets: subnets.map((s) => ({ prefix: cidrOf(s.prefix) })) };
  const specs = spec.policies ?? [];
  const policies = checkPolicies(specs, shape);
  checkAclTiers([], policies);
  const id = store.write(() => {
    if (store.network(name) !== undefined) throw conflict(`network "${name}" already exists`, "Name");
    if (spec.origin !== undefined && store.networkIdByOrigin(spec.origin) !== undefined)
      throw conflict(`${spec.origin.kind} network ${spec.origin.key} already exists`);
    if (spec.adapter !== undefined) checkUplinkFree(core, spec.adapter);
    for (const [i, s] of subnets.entries()) {
      const clash = overlapping(store.networks(), s.prefix);
      const field = spec.subnets[i]?.prefixField;
      if (clash !== undefined)
        throw conflict(
          `${field ?? "subnet"}: ${cidrOf(s.prefix)} overlaps ${clash.prefix} of network "${clash.network.name}"`,
          field,
        );
    }
    checkRemoteSubnets(core, specs, policies, { ...shape, id: undefined });
    const [netId, shortId] = freshId((s) => store.networkShortIdTaken(s));
    store.insertNetwork({
      id: netId,
      name,
      type,
      shortId,
      mtu,
      interContainer: spec.interContainer ?? true,
      policies,
      subnets: subnets.map((s) => ({
        family: s.prefix.family,
        prefix: cidrOf(s.prefix),
        gateway: s.gateway,
      })),
      adapter: uplink?.dev ?? null,
      uplink: uplink ?? null,
      ipam: spec.ipam?.value ?? "static",
      overlay,
    });
    if (spec.origin !== undefined) store.insertNetworkOrigin(netId, spec.origin);
    return netId;
  });
  try {
    await core.convergeOrUndo([`net:${id}`, "global"], () => store.deleteNetwork(id));
  } catch (err) {
    if (uplink !== undefined) await core.host.uplinks.restore(uplink).catch(() => undefined);
    throw err;
  }
  const created = getNetwork(core, id);
  const cluster = clusterOf(core, created);
  if (cluster !== undefined) {
    // What the cluster refuses is not kept here either.
    const undo = async (err: unknown): Promise<never> => {
      await deleteNetwork(core, id, { hostOnly: true });
      throw err;
    };
    if (spec.fromCluster !== true)
      await defineNetwork(cluster.registry, created, spec.overlay?.overhead?.value).catch(undo);
    await cluster.addresses.reserveAhead(created);
    await cluster.addresses.claimSource(created).catch(undo);
  }
  return getNetwork(core, id);
}

/**
 * Deletes a network. A shared overlay network is deleted from the whole cluster, once no other host has
 * endpoints on it; `hostOnly` deletes it here only (the cluster has done so already, or never had it).
 */
export async function deleteNetwork(
  core: Core,
  ref: string,
  opts: { force?: boolean; hostOnly?: boolean } = {},
): Promise<void> {
  const { store } = core;
  const net = getNetwork(core, ref);
  const endpoints = store.endpoints({ networkId: net.id });
  const local = endpoints.filter((ep) => ep.remoteHost === null).length;
  if (local > 0 && opts.force !== true)
    throw conflict(`network "${net.name}" has ${local} endpoint(s); remove them first or delete with force`);
  const cluster = clusterOf(core, net);
  if (cluster !== undefined && opts.hostOnly !== true)
    await undefineNetwork(cluster.registry, net, endpoints);
  const blocks = store.overlayBlocks(net.id);
  for (const ep of endpoints) core.host.leases.stop(ep.id);
  const balancers = endpoints.map((ep) => balancersOf(core, ep));
  store.write(() => {
    for (const ep of endpoints) store.deleteEndpoint(ep.id);
    store.deleteNetwork(net.id);
    if (net.uplink !== null) store.insertUplinkRestore(net.uplink);
  });
  await core.reconciler.converge([
    ...endpoints.map((ep) => `ep:${ep.id}` as const),
    `net:${net.id}`,
    ...new Set(balancers.flat().map((lb) => `lb:${lb.id}` as const)),
  ]);
  for (const [i, ep] of endpoints.entries()) await core.loadBalancers.forget(balancers[i] ?? [], ep);
  if (net.uplink !== null) await restoreUplinks(core);
  await releaseAddresses(core, net, endpoints);
  await core.host.overlay?.addresses.releaseNetwork(net, blocks);
}

/** Creates the default NAT network once, on the first start of a fresh state directory. */
export async function ensureDefaultNetwork(core: Core, name: string): Promise<void> {
  if (core.store.meta("default-network") !== undefined) return;
  if (core.store.network(name) === undefined) await createNetwork(core, { name, type: "NAT", subnets: [] });
  core.store.setMeta("default-network", name);
}

/**
 * An overlay network's VXLAN, checked: it needs this host's underlay address, a VNI and its subnets (an
 * IPv4 one, an IPv6 one, or both: createNetwork allows one per family).
 */
function overlaySettings(core: Core, spec: NetworkSpec, subnets: number): OverlaySettings {
  const hostAddress = core.host.hostAddress;
  if (hostAddress === undefined)
    throw invalidArgument("Type", "Overlay networks need hostnetd --host-address (and --etcd to span hosts)");
  const vni = spec.overlay?.vni;
  if (vni === undefined)
    throw invalidArgument(
      "Policies",
      "an Overlay network needs a VSID policy (its VXLAN network identifier)",
    );
  if (vni.value < 1 || vni.value > 16777215) throw invalidArgument(vni.field, "must be from 1 to 16777215");
  const port = spec.overlay?.port;
  if (port !== undefined) checkPort(port.field, port.value);
  if (subnets === 0)
    throw invalidArgument(
      "Ipams",
      core.host.overlay === undefined
        ? "an Overlay network needs its subnets: this host's part of the overlay"
        : "an Overlay network needs its subnets, the same on every host",
    );
  return {
    vni: vni.value,
    vxlanPort: port?.value ?? DEFAULT_VXLAN_PORT,
    localAddress: hostAddress,
    sourceAddress: null,
  };
}

/**
 * The MTU an overlay network's packets fit in once encapsulated: that of this host's interface on the
 * underlay, less the encapsulation's overhead (50 bytes unless an EncapOverhead policy says otherwise).
 * Each host computes its own, so a network from the cluster fits this host's underlay too.
 */
async function underlayMtu(
  core: Core,
  overlay: OverlaySettings,
  overhead: FieldValue<number> | undefined,
): Promise<number> {
  const underlay = await core.host.interfaceMtu(overlay.localAddress);
  if (underlay === undefined)
    throw new HostnetError(
      "Unavailable",
      `no interface of this host has the underlay address ${overlay.localAddress} (hostnetd --host-address)`,
    );
  const mtu = underlay - (overhead?.value ?? VXLAN_OVERHEAD);
  if (mtu < MIN_MTU)
    throw invalidArgument(
      overhead?.field ?? "Mtu",
      `the underlay's MTU ${underlay} less the overhead leaves ${mtu}, below ${MIN_MTU}`,
    );
  return mtu;
}

/** The uplink a network of `type` takes, checked and as it is now; none for types without one. */
async function uplinkOf(
  core: Core,
  type: NetworkType,
  adapter: AdapterSpec | undefined,
): Promise<UplinkSnapshot | undefined> {
  if (!modes[type].uplink) {
    if (adapter !== undefined) throw invalidArgument(adapter.field, `${type} networks take no uplink NIC`);
    return undefined;
  }
  if (adapter === undefined)
    throw invalidArgument(
      "Policies",
      `a ${type} network needs its uplink NIC: a NetAdapterName policy (--adapter IF)`,
    );
  return takeUplink(core, adapter);
}

/** The VXLAN policies a network of another type must not have: it would not do what they ask. */
function refuseOverlayPolicies(type: NetworkType, overlay: NetworkSpec["overlay"]): void {
  const given = overlay?.vni ?? overlay?.port ?? overlay?.overhead;
  if (given !== undefined)
    throw invalidArgument(
      given.field,
      `${type} networks have no VXLAN: only Overlay networks take this policy`,
    );
}
