/**
 * The cluster's part in the life of an overlay network of a hostnetd with --etcd: the network defined in and
 * deleted from etcd, its endpoints' addresses claimed there before they are used and released after. It runs
 * for networks that have VXLAN settings (`Network.overlay`), whatever their type is called.
 */
import { subnetFields, type OverlayRegistry } from "../cluster/registry.js";
import { conflict, HostnetError } from "../errors.js";
import type { Prefix } from "../model/ip.js";
import { overlayBridgeMac } from "../model/overlay.js";
import type { DnsSettings, Endpoint, Network } from "../model/types.js";
import { DEFAULT_VXLAN_PORT } from "../modes/vxlan.js";
import { getEndpoint, type Core, type HostSide } from "./context.js";
import { publishedNames } from "./names.js";

type Cluster = NonNullable<HostSide["overlay"]>;

/** The cluster the network is shared with: hostnetd runs with --etcd and the network has a VXLAN. */
export const clusterOf = (core: Core, net: Network): Cluster | undefined =>
  net.overlay === null ? undefined : core.host.overlay;

const saysAnything = (dns: DnsSettings): boolean =>
  dns.domain !== null || dns.search.length + dns.servers.length + dns.options.length > 0;

/** Writes a new overlay network to the cluster; throws when the cluster cannot or has it defined otherwise. */
export async function defineNetwork(
  registry: OverlayRegistry,
  net: Network,
  encapOverhead: number | undefined,
): Promise<void> {
  let defined: boolean;
  try {
    defined = await registry.defineNetwork({
      name: net.name,
      ...subnetFields(net.subnets),
      vni: net.overlay?.vni ?? 0,
      vxlanPort: net.overlay?.vxlanPort ?? DEFAULT_VXLAN_PORT,
      ...(encapOverhead === undefined ? {} : { encapOverhead }),
      ...(saysAnything(net.dns) ? { dns: net.dns } : {}),
      ...(net.resolver ? {} : { resolver: false }),
    });
  } catch (err) {
    throw new HostnetError(
      "Unavailable",
      `the cluster's etcd cannot define the network: ${String(err)}`,
      {},
      { cause: err },
    );
  }
  if (!defined) throw conflict(`overlay network "${net.name}" is defined otherwise in the cluster`, "name");
}

/** Deletes a shared overlay network from the cluster, unless another host has endpoints on it. */
export async function undefineNetwork(
  registry: OverlayRegistry,
  net: Network,
  endpoints: readonly Endpoint[],
): Promise<void> {
  // Other hosts' source addresses are no endpoints of theirs: they go with the network.
  const elsewhere = endpoints.filter(
    (ep) => ep.remoteHost !== null && ep.mac !== overlayBridgeMac(ep.remoteHost),
  );
  if (elsewhere.length > 0)
    throw conflict(
      `network "${net.name}" has ${elsewhere.length} endpoint(s) on other hosts (${[...new Set(elsewhere.map((ep) => ep.remoteHost))].join(", ")}); remove them there first`,
    );
  try {
    await registry.undefineNetwork(net.name);
  } catch (err) {
    throw new HostnetError(
      "Unavailable",
      `the cluster's etcd cannot delete the network: ${String(err)}`,
      {},
      { cause: err },
    );
  }
}

/**
 * Where a new endpoint's addresses come from first, by subnet id: this host's blocks of each subnet, another
 * claimed ahead when a subnet it asks no address of has none free.
 */
export async function preferredBlocks(
  cluster: Cluster | undefined,
  net: Network,
  requested: ReadonlyMap<number, unknown>,
): Promise<Map<number, Prefix[]>> {
  const addresses = cluster?.addresses;
  if (addresses !== undefined && net.subnets.some((s) => !requested.has(s.id) && !addresses.hasFree(net, s)))
    await addresses.reserveAhead(net);
  return new Map(net.subnets.map((s) => [s.id, addresses?.blocks(net, s) ?? []]));
}

/**
 * Claims the addresses of the endpoint just recorded as `id` in the cluster. When another host has one, the
 * record goes again and the answer is that address, to be avoided on the next try; an address the request
 * asked for is refused instead, naming its field.
 */
export async function claimAddresses(
  core: Core,
  cluster: Cluster | undefined,
  net: Network,
  id: string,
  requested: ReadonlyMap<number, { readonly field: string; readonly address: string }>,
): Promise<string | undefined> {
  let taken: { address: string; holder: string } | undefined;
  try {
    const ep = getEndpoint(core, id);
    taken = await cluster?.addresses.claim(
      net,
      ep.addresses.map((a) => a.address),
      { mac: ep.mac, names: publishedNames(ep) },
    );
  } catch (err) {
    core.store.write(() => core.store.endpoints.delete(id));
    throw new HostnetError(
      "Unavailable",
      `the cluster's etcd is unreachable and the address is not of this host's reserved blocks: ${String(err)}`,
      {},
      { cause: err },
    );
  }
  if (taken === undefined) return undefined;
  core.store.write(() => core.store.endpoints.delete(id));
  const asked = [...requested.values()].find((r) => r.address === taken.address);
  if (asked !== undefined)
    throw conflict(`${asked.field}: ${taken.address} is in use on host ${taken.holder}`, asked.field);
  return taken.address;
}

/** Gives this host's endpoints' overlay addresses back to the cluster. */
export async function releaseAddresses(
  core: Core,
  net: Network,
  endpoints: readonly Endpoint[],
): Promise<void> {
  const registry = clusterOf(core, net)?.registry;
  if (registry === undefined) return;
  for (const ep of endpoints)
    if (ep.remoteHost === null) for (const a of ep.addresses) await registry.release(net.name, a.address);
}
