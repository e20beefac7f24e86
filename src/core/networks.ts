/**
 * Networks: created with their subnets, uplink and policies in one store transaction, then converged (and,
 * for a network shared with the cluster, defined there); deleted with their endpoints.
 */
import { conflict, invalidArgument } from "../errors.js";
import { cidrOf } from "../model/ip.js";
import { networkTypes, type Network, type Origin } from "../model/types.js";
import { checkAclTiers } from "../modes/acl.js";
import { modes } from "../modes/index.js";
import type { ModeHost } from "../modes/mode.js";
import { balancersOf, freshId, getNetwork, type Core } from "./context.js";
import { clusterOf, defineNetwork, releaseAddresses, undefineNetwork } from "./overlay.js";
import { checkPolicies, checkRemoteSubnets } from "./policies.js";
import type { NetworkSpec } from "./specs.js";
import { defaultSubnet, overlapping, parseSubnet } from "./subnets.js";
import { checkUplinkFree, lanSubnet, restoreUplinks, takeUplink } from "./uplinks.js";
import { checkMtu, checkName } from "./validate.js";

const DEFAULT_MTU = 1500;

/** The network a client made under its own key, if there is one. */
export function networkByOrigin(core: Core, origin: Origin): Network | undefined {
  const id = core.store.networkIdByOrigin(origin);
  return id === undefined ? undefined : core.store.network(id);
}

export async function createNetwork(core: Core, spec: NetworkSpec): Promise<Network> {
  const { store } = core;
  const name = checkName("name", spec.name);
  const type = networkTypes.find((t) => t.toLowerCase() === spec.type.toLowerCase());
  if (type === undefined)
    throw invalidArgument(
      "type",
      `network type "${spec.type}" is not supported (supported: ${networkTypes.join(", ")})`,
    );
  const mode = modes[type];
  const given = spec.subnets.map(parseSubnet);
  const families = new Set<number>();
  for (const [i, s] of given.entries()) {
    const field = spec.subnets[i]?.prefixField ?? "subnets";
    if (!mode.families.includes(s.prefix.family))
      throw invalidArgument(field, `${type} networks have no IPv${s.prefix.family} subnets`);
    if (families.has(s.prefix.family))
      throw invalidArgument(field, `a network has at most one IPv${s.prefix.family} subnet`);
    families.add(s.prefix.family);
  }
  if (spec.ipam?.value === "dhcp" && !mode.dhcp)
    throw invalidArgument(spec.ipam.field, `${type} networks have no DHCP server to lease addresses from`);
  const host = modeHost(core);
  mode.validate(spec, host);
  const { overlay, uplink, mtu: typeMtu } = await mode.prepare(spec, host);
  const mtu = spec.mtu !== undefined ? checkMtu("mtu", spec.mtu) : (typeMtu ?? DEFAULT_MTU);
  const subnets =
    given.length > 0 ? given : [uplink === null ? await defaultSubnet(core) : lanSubnet(uplink)];
  const shape = { name, overlay, subnets: subnets.map((s) => ({ prefix: cidrOf(s.prefix) })) };
  const specs = spec.policies ?? [];
  const policies = checkPolicies(specs, shape);
  checkAclTiers([], policies);
  const id = store.write(() => {
    if (store.network(name) !== undefined) throw conflict(`network "${name}" already exists`, "name");
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
      uplink,
      ipam: spec.ipam?.value ?? "static",
      overlay,
    });
    if (spec.origin !== undefined) store.insertNetworkOrigin(netId, spec.origin);
    return netId;
  });
  try {
    await core.convergeOrUndo([`net:${id}`, "global"], () => store.deleteNetwork(id));
  } catch (err) {
    if (uplink !== null) await core.host.uplinks.restore(uplink).catch(() => undefined);
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

/** What a mode may ask of hostnetd's namespace about a new network. */
const modeHost = (core: Core): ModeHost => ({
  hostAddress: core.host.hostAddress,
  clustered: core.host.overlay !== undefined,
  interfaceMtu: core.host.interfaceMtu,
  takeUplink: (adapter) => takeUplink(core, adapter),
});
