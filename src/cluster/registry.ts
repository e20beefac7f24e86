/**
 * The overlay registry: etcd is the one place hosts learn about each other. Keys, as JSON:
 * - `/hostnet/v1/networks/<name>`: an overlay network's definition, the same on every host;
 * - `/hostnet/v1/blocks/<network>/<prefix>`: the host that has claimed that block of the subnet, for good;
 * - `/hostnet/v1/endpoints/<network>/<address>`: who has that address, under the host's lease. Creating the key
 *   is the claim (an etcd transaction), so two hosts never get one address; when a host's lease expires, its
 *   endpoints vanish from every other host.
 *
 * etcd may be away. hostnetd then keeps serving what it knows, gives out addresses of its own blocks, and
 * publishes once etcd answers again: its endpoints as its store has them, nothing more and nothing less.
 */
import { BrokenCircuitError } from "cockatiel";
import type { Etcd3, Lease, PutBuilder, Watcher } from "etcd3";
import type { Logger } from "pino";
import type { HostnetMetrics } from "../metrics/metrics.js";
import type { DnsSettings } from "../model/types.js";

const NETWORKS = "/hostnet/v1/networks/";
const BLOCKS = "/hostnet/v1/blocks/";
const ENDPOINTS = "/hostnet/v1/endpoints/";
/** How long a request waits for etcd before the API answers that the cluster is unavailable. */
const CALL_TIMEOUT_MS = 3000;
const deadline = (): { deadline: number } => ({ deadline: Date.now() + CALL_TIMEOUT_MS });
/** How often a host that could not reach etcd tries again. */
const RETRY_MS = 1000;

export interface OverlayNetworkDefinition {
  readonly name: string;
  /** The network's IPv4 subnet, or its IPv6 one when it has no IPv4 subnet. */
  readonly subnet: string;
  readonly gateway: string;
  /**
   * The IPv6 subnet of a network that has both families. Absent from older definitions and from single-stack
   * ones, which then read and compare as before.
   */
  readonly subnet6?: string;
  readonly gateway6?: string;
  readonly vni: number;
  readonly vxlanPort: number;
  /**
   * The EncapOverhead policy's, when the network was created with one; each host takes it from its own
   * underlay's MTU. Absent from older definitions, and from those without the policy, which then compare
   * equal.
   */
  readonly encapOverhead?: number;
  /** The network's Dns, when it has any; absent from older definitions. */
  readonly dns?: DnsSettings;
  /** false when the network's resolver is off; absent when on, and from older definitions. */
  readonly resolver?: false;
}

/** A definition's subnets, IPv4 first. */
export function definitionSubnets(def: OverlayNetworkDefinition): { prefix: string; gateway: string }[] {
  return [
    { prefix: def.subnet, gateway: def.gateway },
    ...(def.subnet6 === undefined ? [] : [{ prefix: def.subnet6, gateway: def.gateway6 ?? "" }]),
  ];
}

/** The definition's subnet fields for a network's subnets (one per family). */
export function subnetFields(
  subnets: readonly { readonly family: number; readonly prefix: string; readonly gateway: string }[],
): Pick<OverlayNetworkDefinition, "subnet" | "gateway" | "subnet6" | "gateway6"> {
  const [first, second] = [...subnets].sort((a, b) => a.family - b.family);
  return {
    subnet: first?.prefix ?? "",
    gateway: first?.gateway ?? "",
    ...(second === undefined ? {} : { subnet6: second.prefix, gateway6: second.gateway }),
  };
}

/**
 * One address of an endpoint, as etcd has it: a dual-stack endpoint is two records with the same MAC and
 * host, which every other host joins into one remote endpoint.
 */
export interface EndpointRecord {
  readonly network: string;
  readonly address: string;
  readonly mac: string;
  /** The underlay address of the host the endpoint is on. */
  readonly host: string;
  /** The endpoint's name and aliases, which every host's resolver answers; absent from older records. */
  readonly names?: readonly string[];
}

/** What the registry tells hostnet about the rest of the cluster, and asks it about this host. */
export interface ClusterEvents {
  /** Every network of the cluster, at start: a shared network that is not listed is gone. */
  networksListed(all: readonly OverlayNetworkDefinition[]): Promise<void>;
  networkDefined(def: OverlayNetworkDefinition): Promise<void>;
  networkUndefined(name: string): Promise<void>;
  /** Every endpoint of every host, at start and after a reconnect: what is not listed is gone. */
  endpointsListed(all: readonly EndpointRecord[]): Promise<void>;
  endpointPut(record: EndpointRecord): Promise<void>;
  endpointDeleted(network: string, address: string): Promise<void>;
  /** This host's own endpoints, as they should be published. */
  ownEndpoints(): readonly EndpointRecord[];
  /** This host's address blocks, network by network, as they should be published. */
  ownBlocks(): ReadonlyMap<string, readonly string[]>;
}

const endpointKey = (network: string, address: string): string => `${ENDPOINTS}${network}/${address}`;
const blockKey = (network: string, block: string): string => `${BLOCKS}${network}/${block}`;
const hostOf = (value: string): string => (JSON.parse(value) as { host: string }).host;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const CREATED = Symbol("created");
const next = (revision: string): string => (BigInt(revision) + 1n).toString();

/** An endpoint key's value: the record but for what the key says. */
const endpointValue = (r: EndpointRecord, host: string): string =>
  JSON.stringify({ mac: r.mac, host, ...(r.names === undefined ? {} : { names: r.names }) });

function parseEndpointValue(value: string): Omit<EndpointRecord, "network" | "address"> {
  const { mac, host, names } = JSON.parse(value) as { mac: string; host: string; names?: unknown };
  const named = Array.isArray(names) && names.every((n) => typeof n === "string");
  return { mac, host, ...(named ? { names } : {}) };
}

function parseEndpointKey(key: string): { network: string; address: string } | undefined {
  const [network, address] = key.slice(ENDPOINTS.length).split("/");
  return network === undefined || address === undefined ? undefined : { network, address };
}

export class OverlayRegistry {
  private lease: Lease | undefined;
  private readonly watchers: Watcher[] = [];
  private closed = false;
  /**
   * Whether etcd answered last time: while it does not, requests go on without it where they can. Unknown
   * before the first try, so that a host that never reaches etcd (a wrong certificate, say) logs why, once.
   */
  private reachable: boolean | undefined;
  /** Why etcd did not answer last: what a request the open circuit breaker refuses untried reports. */
  private lastFailure: unknown;
  /** Set when this host's records in etcd may differ from its store; cleared by a sync that succeeds. */
  private unsynced = true;
  private syncing: NodeJS.Timeout | undefined;
  private events: ClusterEvents | undefined;
  private availability: ((available: boolean, why?: string) => void) | undefined;

  constructor(
    private readonly etcd: Etcd3,
    readonly hostAddress: string,
    private readonly leaseSeconds: number,
    private readonly log: Logger,
    private readonly metrics?: Pick<HostnetMetrics, "etcdWatchRestarted" | "etcdClaim">,
  ) {}

  get available(): boolean {
    return this.reachable === true;
  }

  /** Hears when etcd answers again, and when it stops answering (with why). */
  onAvailability(listener: (available: boolean, why?: string) => void): void {
    this.availability = listener;
  }

  /** Connects in the background, again and again until etcd answers: hostnetd does not wait for it. */
  start(events: ClusterEvents): void {
    this.events = events;
    void this.connect(events);
  }

  private async connect(events: ClusterEvents): Promise<void> {
    try {
      await this.grantLease();
      const networks = await this.etcd.getAll().prefix(NETWORKS).options(deadline()).exec();
      await events.networksListed(
        networks.kvs.map((kv) => JSON.parse(kv.value.toString()) as OverlayNetworkDefinition),
      );
      const endpoints = await this.listEndpoints(events);
      // Each watch starts right after its list, so that no change in between is missed.
      await this.watch(events, next(networks.header.revision), next(endpoints));
      this.answered();
      this.log.info({ op: "overlay" }, "connected to etcd");
    } catch (err) {
      for (const w of this.watchers.splice(0)) await w.cancel().catch(() => undefined);
      if (this.closed) return;
      this.unreachable(err);
      setTimeout(() => void this.connect(events), RETRY_MS);
    }
  }

  private async watch(events: ClusterEvents, networksFrom: string, endpointsFrom: string): Promise<void> {
    const networks = await this.etcd.watch().prefix(NETWORKS).startRevision(networksFrom).create();
    this.watchers.push(networks);
    networks.on("put", (kv) => {
      void events
        .networkDefined(JSON.parse(kv.value.toString()) as OverlayNetworkDefinition)
        .catch((err: unknown) => this.log.error({ op: "overlay", err }, "could not define a network"));
    });
    networks.on("delete", (kv) => {
      void events
        .networkUndefined(kv.key.toString().slice(NETWORKS.length))
        .catch((err: unknown) => this.log.error({ op: "overlay", err }, "could not delete a network"));
    });
    const endpoints = await this.etcd.watch().prefix(ENDPOINTS).startRevision(endpointsFrom).create();
    this.watchers.push(endpoints);
    endpoints.on("put", (kv) => {
      const at = parseEndpointKey(kv.key.toString());
      if (at === undefined) return;
      void events
        .endpointPut({ ...at, ...parseEndpointValue(kv.value.toString()) })
        .catch((err: unknown) => this.log.error({ op: "overlay", err }, "could not add a remote endpoint"));
    });
    endpoints.on("delete", (kv) => {
      const at = parseEndpointKey(kv.key.toString());
      if (at === undefined) return;
      void events
        .endpointDeleted(at.network, at.address)
        .catch((err: unknown) =>
          this.log.error({ op: "overlay", err }, "could not remove a remote endpoint"),
        );
    });
    let lost = false;
    for (const w of [networks, endpoints])
      w.on("disconnected", (err) => {
        lost = true;
        this.unreachable(err);
      });
    // A watch that reconnects resumes after the last revision it saw: nothing is missed, nothing to list.
    endpoints.on("connected", () => {
      if (lost) this.metrics?.etcdWatchRestarted();
      lost = false;
      this.answered();
    });
  }

  /** Defines an overlay network cluster-wide; false when another definition has the name. */
  async defineNetwork(def: OverlayNetworkDefinition): Promise<boolean> {
    const key = `${NETWORKS}${def.name}`;
    const value = JSON.stringify(def);
    return this.call(async () => {
      const existing = await this.createIfAbsent(key, this.etcd.put(key).value(value));
      return existing === CREATED || existing === value;
    });
  }

  /**
   * Deletes an overlay network from the cluster, with every block and address of it: those of hosts that
   * are gone too. Each host deletes its own copy when it hears of it.
   */
  async undefineNetwork(name: string): Promise<void> {
    await this.call(() =>
      this.etcd
        .if(`${NETWORKS}${name}`, "Create", ">", 0)
        .then(
          this.etcd.delete().key(`${NETWORKS}${name}`),
          this.etcd.delete().prefix(`${BLOCKS}${name}/`),
          this.etcd.delete().prefix(`${ENDPOINTS}${name}/`),
        )
        .options(deadline())
        .commit(),
    );
  }

  /** Claims an address for one of this host's endpoints; the host that has it, when it is taken. */
  async claim(record: EndpointRecord): Promise<string | undefined> {
    const key = endpointKey(record.network, record.address);
    const value = endpointValue(record, this.hostAddress);
    const lease = this.lease;
    if (lease === undefined) throw new Error("etcd has not answered since hostnetd started");
    const holder = await this.call(async () => {
      const holder = await this.createIfAbsent(key, lease.put(key).value(value));
      if (holder === CREATED) return undefined;
      const host = holder === null ? undefined : hostOf(holder);
      if (host !== this.hostAddress) return host ?? "another host";
      await lease.put(key).value(value).options(deadline());
      return undefined;
    }).catch((err: unknown) => {
      this.metrics?.etcdClaim("failed");
      throw err;
    });
    this.metrics?.etcdClaim(holder === undefined ? "claimed" : "taken");
    return holder;
  }

  /** Forgets one of this host's addresses; while etcd is away, the sync that follows its return does. */
  async release(network: string, address: string): Promise<void> {
    if (!this.available) {
      this.publishLater();
      return;
    }
    await this.call(async () => {
      await this.etcd.delete().key(endpointKey(network, address)).options(deadline());
    }).catch(() => this.publishLater());
  }

  /** The hosts that hold blocks of a network, by block. */
  async blockHolders(network: string): Promise<Map<string, string>> {
    const prefix = `${BLOCKS}${network}/`;
    const all = await this.call(() => this.etcd.getAll().prefix(prefix).options(deadline()).strings());
    return new Map(Object.entries(all).map(([key, value]) => [key.slice(prefix.length), hostOf(value)]));
  }

  /** Claims a block of a network's subnet for this host, for good; false when another host has it. */
  async claimBlock(network: string, block: string): Promise<boolean> {
    const key = blockKey(network, block);
    const value = JSON.stringify({ host: this.hostAddress });
    return this.call(async () => {
      const existing = await this.createIfAbsent(key, this.etcd.put(key).value(value));
      return existing === CREATED || existing === value;
    });
  }

  /** Gives this host's blocks of a network back to the cluster. */
  async releaseBlocks(network: string, blocks: readonly string[]): Promise<void> {
    const value = JSON.stringify({ host: this.hostAddress });
    for (const block of blocks)
      await this.call(() =>
        this.etcd
          .if(blockKey(network, block), "Value", "==", value)
          .then(this.etcd.delete().key(blockKey(network, block)))
          .options(deadline())
          .commit(),
      );
  }

  /** Publishes this host's records as its store has them, as soon as etcd answers. */
  publishLater(): void {
    this.unsynced = true;
    if (this.syncing !== undefined || this.closed || this.events === undefined) return;
    const events = this.events;
    this.syncing = setTimeout(() => {
      this.sync(events)
        .then(() => {
          this.syncing = undefined;
          this.log.info({ op: "overlay" }, "this host's endpoints and blocks are published");
          if (this.unsynced) this.publishLater();
        })
        .catch((err: unknown) => {
          this.unreachable(err);
          this.syncing = undefined;
          this.unsynced = true;
          setTimeout(() => this.publishLater(), RETRY_MS);
        });
    }, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.syncing);
    for (const w of this.watchers) await w.cancel();
    await this.lease?.revoke().catch(() => undefined);
    this.etcd.close();
  }

  /** Makes etcd hold exactly this host's endpoints and blocks; other hosts' claims are left alone. */
  private async sync(events: ClusterEvents): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) throw new Error("etcd has not answered since hostnetd started");
    this.unsynced = false;
    await this.call(async () => {
      for (const [network, blocks] of events.ownBlocks())
        for (const block of blocks)
          if (!(await this.claimBlock(network, block)))
            this.log.error({ op: "overlay", network, block }, "another host has claimed this host's block");
      const published = await this.etcd.getAll().prefix(ENDPOINTS).options(deadline()).strings();
      const wanted = new Map(
        events
          .ownEndpoints()
          .map((r) => [endpointKey(r.network, r.address), endpointValue(r, this.hostAddress)]),
      );
      for (const [key, value] of Object.entries(published))
        if (hostOf(value) === this.hostAddress && !wanted.has(key))
          await this.etcd
            .if(key, "Value", "==", value)
            .then(this.etcd.delete().key(key))
            .options(deadline())
            .commit();
      // Every key is written again, so that all of them are under the current lease.
      for (const [key, value] of wanted) {
        const current = published[key];
        if (current !== undefined && hostOf(current) !== this.hostAddress) {
          this.log.error(
            { op: "overlay", key, holder: hostOf(current) },
            "another host has this host's address",
          );
          continue;
        }
        await this.etcd
          .if(key, current === undefined ? "Create" : "Value", "==", current ?? 0)
          .then(lease.put(key).value(value))
          .options(deadline())
          .commit();
      }
    });
  }

  /**
   * Writes `put` in one transaction if its key does not exist: CREATED, or the value the key has (null if it
   * went meanwhile).
   */
  private async createIfAbsent(key: string, put: PutBuilder): Promise<typeof CREATED | string | null> {
    const result = await this.etcd.if(key, "Create", "==", 0).then(put).options(deadline()).commit();
    return result.succeeded ? CREATED : this.etcd.get(key).options(deadline()).string();
  }

  /** Tells hostnet every endpoint of the cluster; the revision of the list. */
  private async listEndpoints(events: ClusterEvents): Promise<string> {
    const all = await this.etcd.getAll().prefix(ENDPOINTS).options(deadline()).exec();
    const records = all.kvs.flatMap((kv): EndpointRecord[] => {
      const at = parseEndpointKey(kv.key.toString());
      if (at === undefined) return [];
      return [{ ...at, ...parseEndpointValue(kv.value.toString()) }];
    });
    await events.endpointsListed(records);
    return all.header.revision;
  }

  /** A call to etcd that records whether etcd answered. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.answered();
      return result;
    } catch (err) {
      this.unreachable(err);
      if (err instanceof BrokenCircuitError && this.lastFailure !== undefined)
        throw new Error(`etcd is unreachable: ${messageOf(this.lastFailure)}`, { cause: err });
      throw err;
    }
  }

  private answered(): void {
    const was = this.available;
    this.reachable = true;
    if (!was) {
      this.log.info({ op: "overlay" }, "etcd answers");
      this.availability?.(true);
    }
    if (this.unsynced) this.publishLater();
  }

  private unreachable(err: unknown): void {
    if (!(err instanceof BrokenCircuitError)) this.lastFailure = err;
    const was = this.reachable;
    this.reachable = false;
    if (was !== false) {
      this.log.warn({ op: "overlay", err }, "etcd is unreachable");
      this.availability?.(false, messageOf(err));
    }
  }

  /**
   * A lease lost while etcd was away is granted again, and this host's records published under it: until
   * then, other hosts keep what they had of it.
   */
  private async grantLease(): Promise<void> {
    const lease = this.etcd.lease(this.leaseSeconds);
    lease.on("lost", (err) => {
      if (this.closed || this.lease !== lease) return;
      this.unreachable(err);
      this.regrant();
    });
    await lease.grant();
    this.lease = lease;
    this.unsynced = true;
  }

  private regrant(): void {
    if (this.closed) return;
    this.grantLease()
      .then(() => this.answered())
      .catch((err: unknown) => {
        this.unreachable(err);
        setTimeout(() => this.regrant(), RETRY_MS);
      });
  }
}
