/**
 * The rest of the cluster, as this host sees it: overlay networks defined on other hosts become local
 * networks, and other hosts' endpoints become remote endpoints in the store (`remoteHost` set), whose kernel
 * objects are static FDB and neighbour entries (modes/overlay.ts). Every change goes through the store and a
 * converge of that one endpoint, like any request.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import {
  definitionSubnets,
  type ClusterEvents,
  type EndpointRecord,
  type OverlayNetworkDefinition,
} from "../cluster/registry.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import type { DnsSpec } from "../dns/settings.js";
import { noDns, type DnsSettings, type Endpoint, type Network, type Subnet } from "../model/types.js";
import { contains, parseIp, parsePrefix } from "../model/ip.js";
import type { Store } from "../store/store.js";
import { overlayBridgeMac } from "../model/overlay.js";
import type { EventLog } from "../events/log.js";
import { withCause } from "./cause.js";
import { publishedNames } from "./names.js";
import { endpointChanged, type Recorder } from "./record.js";
import type { NetworkSpec } from "./specs.js";

/** What the rest of the cluster changes here goes through the service, as a request would. */
export interface ClusterSide {
  createNetwork(spec: NetworkSpec): Promise<Network>;
  /** Deletes the network on this host only: it is gone from the cluster, or was never there. */
  deleteNetwork(id: string, opts: { hostOnly: true }): Promise<void>;
  /** Also takes the endpoint out of the load balancers it is a backend of. */
  deleteEndpoint(id: string): Promise<void>;
  /** Takes one address from a remote endpoint that keeps others (another host deleted or moved it). */
  deleteEndpointAddress(id: string, address: string): Promise<void>;
  /** Where the remote endpoints this host learns are recorded as they come. */
  readonly events: EventLog;
}

/** The cluster's changes, each done with `cluster` as its cause (core/cause.ts). */
export function clusterCaused(peers: ClusterEvents): ClusterEvents {
  const cluster = <T>(fn: () => T): T => withCause("cluster", fn);
  return {
    networksListed: (all) => cluster(() => peers.networksListed(all)),
    networkDefined: (def) => cluster(() => peers.networkDefined(def)),
    networkUndefined: (name) => cluster(() => peers.networkUndefined(name)),
    endpointsListed: (all) => cluster(() => peers.endpointsListed(all)),
    endpointPut: (record) => cluster(() => peers.endpointPut(record)),
    endpointDeleted: (network, address) => cluster(() => peers.endpointDeleted(network, address)),
    ownEndpoints: () => peers.ownEndpoints(),
    ownBlocks: () => peers.ownBlocks(),
  };
}

const CLAIM_RACE_RETRIES = 20;
const CLAIM_RACE_DELAY_MS = 250;

export class OverlayPeers implements ClusterEvents {
  /**
   * Other hosts' addresses on a cluster network this host is still creating, by network and address: the
   * defining host claims its source address right after the definition, and that record can come while this
   * host checks the network, before it is stored. They are put once the network is.
   */
  private readonly early = new Map<string, Map<string, EndpointRecord>>();

  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    private readonly service: ClusterSide,
    private readonly hostAddress: string,
    private readonly log: Logger,
  ) {}

  /** A network deleted, or deleted and defined anew, while this host was away goes here too. */
  async networksListed(all: readonly OverlayNetworkDefinition[]): Promise<void> {
    const listed = new Map(all.map((def) => [def.name, def]));
    for (const net of this.overlayNetworks()) {
      // Only the cluster's networks have blocks: one without was this host's own (a routed overlay made
      // before hostnetd ran with --etcd), and the cluster's list says nothing about it.
      if (this.store.networks.overlayBlocks(net.id).length === 0) continue;
      const def = listed.get(net.name);
      if (def === undefined || !sameDefinition(net, def)) await this.networkUndefined(net.name);
    }
    for (const def of all)
      await this.networkDefined(def).catch((err: unknown) => {
        this.log.error({ op: "overlay", network: def.name, err }, "could not define a network from etcd");
      });
  }

  /** A network deleted on another host goes here too, unless this host still has endpoints on it. */
  async networkUndefined(name: string): Promise<void> {
    this.early.delete(name);
    const net = this.store.networks.find(name);
    if (net?.overlay == null) return;
    if (this.store.endpoints.all({ networkId: net.id }).some((ep) => ep.remoteHost === null)) {
      this.log.error(
        { op: "overlay", network: name },
        "the cluster deleted a network this host has endpoints on; it stays here until they are deleted",
      );
      return;
    }
    await this.service.deleteNetwork(net.id, { hostOnly: true });
  }

  async networkDefined(def: OverlayNetworkDefinition): Promise<void> {
    const local = this.store.networks.find(def.name);
    if (local !== undefined) {
      if (!sameDefinition(local, def))
        this.log.error(
          { op: "overlay", network: def.name },
          "a local network has the name of a cluster network",
        );
      else await this.putEarly(def.name);
      return;
    }
    await this.service.createNetwork({
      name: def.name,
      type: "Overlay",
      subnets: definitionSubnets(def).map((s) => ({
        prefix: s.prefix,
        prefixField: "subnet",
        gateway: s.gateway,
        gatewayField: "gateway",
      })),
      overlay: {
        vni: { value: def.vni, field: "vni" },
        port: { value: def.vxlanPort, field: "vxlanPort" },
        ...(def.encapOverhead === undefined
          ? {}
          : { overhead: { value: def.encapOverhead, field: "encapOverhead" } }),
      },
      ...(def.dns === undefined ? {} : { dns: dnsSpec(def.dns) }),
      ...(def.resolver === undefined ? {} : { resolver: { value: def.resolver, field: "resolver" } }),
      fromCluster: true,
    });
    await this.putEarly(def.name);
  }

  private async putEarly(network: string): Promise<void> {
    const records = this.early.get(network);
    this.early.delete(network);
    for (const record of records?.values() ?? []) await this.endpointPut(record);
  }

  /**
   * Every address listed is put; a remote endpoint's address that is not listed goes, and the endpoint with
   * its last one. IPv4 first, so that a dual-stack endpoint new to this host is named after its IPv4 address.
   */
  async endpointsListed(all: readonly EndpointRecord[]): Promise<void> {
    this.early.clear();
    const listed = new Set(all.map((r) => `${r.network}/${r.address}/${r.host}/${r.mac}`));
    for (const net of this.overlayNetworks())
      for (const ep of this.store.endpoints.all({ networkId: net.id })) {
        if (ep.remoteHost === null) continue;
        const gone = ep.addresses.filter(
          (a) => !listed.has(`${net.name}/${a.address}/${ep.remoteHost ?? ""}/${ep.mac}`),
        );
        if (gone.length === ep.addresses.length) await this.remove(ep);
        else for (const a of gone) await this.service.deleteEndpointAddress(ep.id, a.address);
      }
    const ipv4First = [...all].sort(
      (a, b) => Number(a.address.includes(":")) - Number(b.address.includes(":")),
    );
    for (const record of ipv4First) await this.endpointPut(record);
  }

  /**
   * An address of another host's endpoint. The endpoint is known by its network, host and MAC: a second
   * address of it (the other family's) joins the remote endpoint this host has, so that one endpoint is one
   * record here and one set of FDB entries in the kernel.
   */
  async endpointPut(record: EndpointRecord, attempt = 0): Promise<void> {
    if (record.host === this.hostAddress) return;
    const net = this.store.networks.find(record.network);
    if (net === undefined) {
      const early = this.early.get(record.network) ?? new Map<string, EndpointRecord>();
      this.early.set(record.network, early.set(record.address, record));
      return;
    }
    if (net.overlay === null) return;
    const subnet = subnetOf(net, record.address);
    if (subnet === undefined) {
      this.log.warn({ op: "overlay", ...record }, "another host published an address outside the network");
      return;
    }
    const existing = this.store.endpoints.withAddress(subnet.id, record.address);
    if (existing !== undefined) {
      if (existing.remoteHost === null) {
        // Most likely an endpoint this host is creating, whose claim of the address is about to fail.
        if (attempt < CLAIM_RACE_RETRIES)
          setTimeout(
            () => void this.endpointPut(record, attempt + 1).catch(() => undefined),
            CLAIM_RACE_DELAY_MS,
          );
        else this.log.error({ op: "overlay", ...record }, "another host published an address this host has");
        return;
      }
      if (existing.remoteHost === record.host && existing.mac === record.mac) {
        this.takeNames(existing, record);
        return;
      }
      await this.removeAddress(existing, record.address);
    }
    const same = this.store.endpoints.remote(net.id, record.host, record.mac);
    if (same !== undefined) {
      this.takeNames(same, record);
      // One address per subnet: one the endpoint had in this subnet before is no longer its.
      this.store.write(() => this.store.endpoints.setLeasedAddress(same.id, subnet.id, record.address));
      await this.reconciler.converge([`ep:${same.id}`]);
      endpointChanged(this.recorder, "update", same, { AddressAdded: record.address });
      return;
    }
    const id = randomUUID();
    this.store.write(() => {
      this.store.endpoints.insert({
        id,
        name: `${record.address}@${net.name}`,
        networkId: net.id,
        shortId: id.slice(0, 8),
        mac: record.mac,
        attachment: null,
        gatewayPriority: 0,
        remoteHost: record.host,
        dns: noDns,
        aliases: this.freeNames(net.id, id, record),
      });
      this.store.endpoints.insertAddress(subnet.id, record.address, id);
    });
    await this.reconciler.converge([`ep:${id}`]);
    const created = this.store.endpoints.find(id);
    if (created !== undefined) endpointChanged(this.recorder, "create", created);
  }

  private get recorder(): Recorder {
    return { store: this.store, events: this.service.events };
  }

  /**
   * The names a record publishes that no other endpoint of the network has here, lower case: a name this host
   * gave first (two hosts may each create one at the same moment) stays with its endpoint, and says so.
   */
  private freeNames(networkId: string, endpointId: string, record: EndpointRecord): string[] {
    const names = [...new Set((record.names ?? []).map((n) => n.toLowerCase()))];
    const free = names.filter(
      (n) => this.store.endpoints.withDnsName(networkId, n, endpointId) === undefined,
    );
    if (free.length < names.length)
      this.log.warn(
        { op: "overlay", ...record, taken: names.filter((n) => !free.includes(n)) },
        "another host published names an endpoint here has; the resolver answers them with this host's",
      );
    return free;
  }

  /** A remote endpoint's names as its host publishes them now (a record of an older hostnet had none). */
  private takeNames(ep: Endpoint, record: EndpointRecord): void {
    if (record.names === undefined) return;
    const names = this.freeNames(ep.networkId, ep.id, record);
    if (names.join() !== ep.aliases.join())
      this.store.write(() => this.store.endpoints.setAliases(ep.id, ep.networkId, names));
  }

  async endpointDeleted(network: string, address: string): Promise<void> {
    this.early.get(network)?.delete(address);
    const net = this.store.networks.find(network);
    const subnet = net === undefined ? undefined : subnetOf(net, address);
    const ep = subnet === undefined ? undefined : this.store.endpoints.withAddress(subnet.id, address);
    if (ep?.remoteHost !== null && ep !== undefined) await this.removeAddress(ep, address);
  }

  ownEndpoints(): EndpointRecord[] {
    return this.overlayNetworks().flatMap((net) => [
      ...sourceRecord(net, this.hostAddress),
      ...this.store.endpoints.all({ networkId: net.id }).flatMap((ep) =>
        ep.remoteHost !== null
          ? []
          : ep.addresses.map((a) => ({
              network: net.name,
              address: a.address,
              mac: ep.mac,
              host: this.hostAddress,
              names: publishedNames(ep),
            })),
      ),
    ]);
  }

  ownBlocks(): Map<string, string[]> {
    return new Map(
      this.overlayNetworks().map((net) => [net.name, this.store.networks.overlayBlocks(net.id)]),
    );
  }

  private overlayNetworks(): Network[] {
    return this.store.networks.all().filter((n) => n.overlay !== null);
  }

  /** Takes the address from a remote endpoint, and the endpoint with its last address. */
  private async removeAddress(ep: Endpoint, address: string): Promise<void> {
    if (ep.addresses.some((a) => a.address !== address))
      await this.service.deleteEndpointAddress(ep.id, address);
    else await this.remove(ep);
  }

  private async remove(ep: Endpoint): Promise<void> {
    await this.service.deleteEndpoint(ep.id);
  }
}

/** The network's subnet an address is in, if any. */
function subnetOf(net: Network, address: string): Subnet | undefined {
  const ip = parseIp("address", address);
  return net.subnets.find((s) => contains(parsePrefix("subnet", s.prefix), ip));
}

/** A definition's Dns as the service takes it, each part named as the definition names it. */
function dnsSpec(dns: DnsSettings): DnsSpec {
  return {
    ...(dns.domain === null ? {} : { domain: { value: dns.domain, field: "dns.domain" } }),
    search: { value: dns.search, field: "dns.search" },
    servers: { value: dns.servers, field: "dns.servers" },
    options: { value: dns.options, field: "dns.options" },
  };
}

/** Whether a network is the one the cluster defines: old definitions, of one subnet, compare as before. */
const sameDefinition = (net: Network, def: OverlayNetworkDefinition): boolean => {
  const wanted = definitionSubnets(def);
  const have = [...net.subnets].sort((a, b) => a.family - b.family);
  return (
    net.overlay?.vni === def.vni &&
    net.overlay.vxlanPort === def.vxlanPort &&
    have.length === wanted.length &&
    have.every((s, i) => s.prefix === wanted[i]?.prefix && s.gateway === wanted[i].gateway)
  );
};

/** This host's source address on the network (core/overlay-addresses.ts), published as an endpoint of its bridge. */
function sourceRecord(net: Network, host: string): EndpointRecord[] {
  const address = net.overlay?.sourceAddress;
  return net.overlay === null || address == null
    ? []
    : [{ network: net.name, address, mac: overlayBridgeMac(host), host }];
}
