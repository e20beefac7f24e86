/**
 * Networks: created with their subnets, uplink and policies in one store transaction, then converged (and,
 * for a network shared with the cluster, defined there); deleted with their endpoints.
 */
import type { HostAddress } from "../dataplane/hostfacts.js";
import { checkDns } from "../dns/settings.js";
import { conflict, invalidArgument } from "../errors.js";
import { cidrOf } from "../model/ip.js";
import {
  networkTypes,
  type DnsSettings,
  type Network,
  type NetworkType,
  type Origin,
  type OverlaySettings,
  type UplinkSnapshot,
} from "../model/types.js";
import { modes } from "../modes/index.js";
import type { ModeHost } from "../modes/mode.js";
import type { NetworkPolicy } from "../policies/index.js";
import { checkPolicies, checkPoliciesInForce } from "../policies/checks.js";
import { balancersOf, freshId, getNetwork, type Core } from "./context.js";
import { clusterOf, defineNetwork, releaseAddresses, undefineNetwork } from "./overlay.js";
import { checkAgainstHost } from "./policies.js";
import { endpointChanged, networkChanged } from "./record.js";
import type { NetworkSpec } from "./specs.js";
import {
  checkAgainstHostAddresses,
  defaultSubnet,
  overlapping,
  parseSubnet,
  type ParsedSubnet,
} from "./subnets.js";
import { checkUplinkFree, lanSubnet, restoreUplinks, takeUplink } from "./uplinks.js";
import { checkMtu, checkName } from "./validate.js";

const DEFAULT_MTU = 1500;

/** A subnet as the policy checks read it. */
const prefixOf = (s: ParsedSubnet): { prefix: string } => ({ prefix: cidrOf(s.prefix) });

/** The network a client made under its own key, if there is one. */
export function networkByOrigin(core: Core, origin: Origin): Network | undefined {
  const id = core.store.networks.idByOrigin(origin);
  return id === undefined ? undefined : core.store.networks.find(id);
}

export async function createNetwork(core: Core, spec: NetworkSpec): Promise<Network> {
  const checked = await checkNetwork(core, spec);
  const id = core.store.write(() => recordNetwork(core, spec, checked));
  try {
    await core.convergeOrUndo([`net:${id}`, "global"], () => core.store.networks.delete(id));
  } catch (err) {
    if (checked.uplink !== null) await core.host.uplinks.restore(checked.uplink).catch(() => undefined);
    throw err;
  }
  await joinCluster(core, getNetwork(core, id), spec);
  const created = getNetwork(core, id);
  networkChanged(core, "create", created);
  return created;
}

/** A new network as the store records it, checked but for what only the store's transaction can tell. */
interface CheckedNetwork {
  readonly name: string;
  readonly type: NetworkType;
  readonly mtu: number;
  readonly subnets: readonly ParsedSubnet[];
  readonly policies: readonly NetworkPolicy[];
  readonly overlay: OverlaySettings | null;
  readonly uplink: UplinkSnapshot | null;
  /** The host's addresses its subnets must not hold: none for a network on the uplink's LAN, which holds them. */
  readonly hostAddresses: readonly HostAddress[];
  readonly dns: DnsSettings;
  readonly resolver: boolean;
}

/** Checks a spec and completes it: its type's settings, its MTU, and a subnet when none is given. */
async function checkNetwork(core: Core, spec: NetworkSpec): Promise<CheckedNetwork> {
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
  const resolver = spec.resolver?.value ?? mode.resolver;
  if (resolver && !mode.resolver)
    throw invalidArgument(
      spec.resolver?.field ?? "type",
      `${type} networks have no gateway address on the host for hostnet's resolver to answer on`,
    );
  const dns = checkDns(spec.dns);
  const host = modeHost(core);
  mode.validate(spec, host);
  const { overlay, uplink, mtu: typeMtu } = await mode.prepare(spec, host);
  const mtu = spec.mtu !== undefined ? checkMtu("mtu", spec.mtu) : (typeMtu ?? DEFAULT_MTU);
  const subnets =
    given.length > 0 ? given : [uplink === null ? await defaultSubnet(core) : lanSubnet(uplink)];
  const policies = checkPolicies(
    spec.policies ?? [],
    { name, type, subnets: subnets.map(prefixOf) },
    core.host.kernelFeatures,
  );
  checkPoliciesInForce([], policies);
  const hostAddresses = uplink === null && given.length > 0 ? await core.host.addresses() : [];
  return { name, type, mtu, subnets, policies, overlay, uplink, hostAddresses, dns, resolver };
}

/** Records the network, inside the store's transaction: its name, origin, uplink and subnets still free. */
function recordNetwork(core: Core, spec: NetworkSpec, net: CheckedNetwork): string {
  const { store } = core;
  if (store.networks.find(net.name) !== undefined)
    throw conflict(`network "${net.name}" already exists`, "name");
  if (spec.origin !== undefined && store.networks.idByOrigin(spec.origin) !== undefined)
    throw conflict(`${spec.origin.kind} network ${spec.origin.key} already exists`);
  if (spec.adapter !== undefined) checkUplinkFree(core, spec.adapter);
  for (const [i, s] of net.subnets.entries()) {
    const clash = overlapping(store.networks.all(), s.prefix);
    const field = spec.subnets[i]?.prefixField;
    if (clash !== undefined)
      throw conflict(
        `${field ?? "subnet"}: ${cidrOf(s.prefix)} overlaps ${clash.prefix} of network "${clash.network.name}"`,
        field,
      );
    checkAgainstHostAddresses(s.prefix, field ?? "subnets", net.hostAddresses);
  }
  const subnets = net.subnets.map(prefixOf);
  checkAgainstHost(core, spec.policies ?? [], net.policies, { ...net, id: undefined, subnets });
  const [id, shortId] = freshId((s) => store.networks.shortIdTaken(s));
  store.networks.insert({
    id,
    name: net.name,
    type: net.type,
    shortId,
    mtu: net.mtu,
    interContainer: spec.interContainer ?? true,
    policies: net.policies,
    subnets: net.subnets.map((s) => ({
      family: s.prefix.family,
      prefix: cidrOf(s.prefix),
      gateway: s.gateway,
    })),
    adapter: net.uplink?.dev ?? null,
    uplink: net.uplink,
    ipam: spec.ipam?.value ?? "static",
    overlay: net.overlay,
    dns: net.dns,
    resolver: net.resolver,
  });
  if (spec.origin !== undefined) store.networks.insertOrigin(id, spec.origin);
  return id;
}

/**
 * Shares a network with a VXLAN with the cluster, when hostnetd runs with --etcd: defines it there (unless
 * it came from there) and claims this host's first addresses of it. What the cluster refuses is deleted
 * here again.
 */
async function joinCluster(core: Core, net: Network, spec: NetworkSpec): Promise<void> {
  const cluster = clusterOf(core, net);
  if (cluster === undefined) return;
  const undo = async (err: unknown): Promise<never> => {
    await deleteNetwork(core, net.id, { hostOnly: true });
    throw err;
  };
  if (spec.fromCluster !== true)
    await defineNetwork(cluster.registry, net, spec.overlay?.overhead?.value).catch(undo);
  await cluster.addresses.reserveAhead(net);
  await cluster.addresses.claimSource(net).catch(undo);
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
  const endpoints = store.endpoints.all({ networkId: net.id });
  const local = endpoints.filter((ep) => ep.remoteHost === null).length;
  if (local > 0 && opts.force !== true)
    throw conflict(`network "${net.name}" has ${local} endpoint(s); remove them first or delete with force`);
  const cluster = clusterOf(core, net);
  if (cluster !== undefined && opts.hostOnly !== true)
    await undefineNetwork(cluster.registry, net, endpoints);
  const blocks = store.networks.overlayBlocks(net.id);
  for (const ep of endpoints) core.host.leases.stop(ep.id);
  const balancers = endpoints.map((ep) => balancersOf(core, ep));
  store.write(() => {
    for (const ep of endpoints) store.endpoints.delete(ep.id);
    store.networks.delete(net.id);
    if (net.uplink !== null) store.networks.insertUplinkRestore(net.uplink);
  });
  await core.reconciler.converge([
    ...endpoints.map((ep) => `ep:${ep.id}` as const),
    `net:${net.id}`,
    ...new Set(balancers.flat().map((lb) => `lb:${lb.id}` as const)),
  ]);
  await core.loadBalancers.forget(endpoints.map((ep, i) => ({ lbs: balancers[i] ?? [], ep })));
  if (net.uplink !== null) await restoreUplinks(core);
  await releaseAddresses(core, net, endpoints);
  await core.host.overlay?.addresses.releaseNetwork(net, blocks);
  for (const ep of endpoints) endpointChanged(core, "delete", ep, { Network: net.name });
  networkChanged(core, "delete", net);
}

/** Creates the default NAT network once, on the first start of a fresh state directory. */
export async function ensureDefaultNetwork(core: Core, name: string): Promise<void> {
  if (core.store.meta.get("default-network") !== undefined) return;
  if (core.store.networks.find(name) === undefined)
    await createNetwork(core, { name, type: "NAT", subnets: [] });
  core.store.meta.set("default-network", name);
}

/** What a mode may ask of hostnetd's namespace about a new network. */
const modeHost = (core: Core): ModeHost => ({
  hostAddress: core.host.hostAddress,
  clustered: core.host.overlay !== undefined,
  interfaceMtu: core.host.interfaceMtu,
  takeUplink: (adapter) => takeUplink(core, adapter),
});
