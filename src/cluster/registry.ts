/**
 * The overlay registry: etcd is the one place hosts learn about each other. Keys, as JSON:
 * - `/hostnet/v1/networks/<name>`: an overlay network's definition, the same on every host;
 * - `/hostnet/v1/endpoints/<network>/<address>`: who has that address, under the host's lease. Creating the key
 *   is the claim (an etcd transaction), so two hosts never get one address; when a host's lease expires, its
 *   endpoints vanish from every other host.
 */
import type { Etcd3, Lease, Watcher } from "etcd3";
import type { Logger } from "pino";

const NETWORKS = "/hostnet/v1/networks/";
/** How long a request waits for etcd before the API answers that the cluster is unavailable. */
const CALL_TIMEOUT_MS = 3000;
const deadline = (): { deadline: number } => ({ deadline: Date.now() + CALL_TIMEOUT_MS });
const ENDPOINTS = "/hostnet/v1/endpoints/";

export interface OverlayNetworkDefinition {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly vni: number;
  readonly vxlanPort: number;
  /**
   * The EncapOverhead policy's, when the network was created with one; each host takes it from its own
   * underlay's MTU. Absent from older definitions, and from those without the policy, which then compare
   * equal.
   */
  readonly encapOverhead?: number;
}

export interface EndpointRecord {
  readonly network: string;
  readonly address: string;
  readonly mac: string;
  /** The underlay address of the host the endpoint is on. */
  readonly host: string;
}

/** What the registry tells hostnet about the rest of the cluster. */
export interface ClusterEvents {
  networkDefined(def: OverlayNetworkDefinition): Promise<void>;
  /** Every endpoint of every host, at start and after a reconnect: what is not listed is gone. */
  endpointsListed(all: readonly EndpointRecord[]): Promise<void>;
  endpointPut(record: EndpointRecord): Promise<void>;
  endpointDeleted(network: string, address: string): Promise<void>;
  /** This host's own endpoints, to publish again under a new lease. */
  ownEndpoints(): readonly EndpointRecord[];
}

const endpointKey = (network: string, address: string): string => `${ENDPOINTS}${network}/${address}`;

function parseEndpointKey(key: string): { network: string; address: string } | undefined {
  const [network, address] = key.slice(ENDPOINTS.length).split("/");
  return network === undefined || address === undefined ? undefined : { network, address };
}

export class OverlayRegistry {
  private lease: Lease | undefined;
  private readonly watchers: Watcher[] = [];
  private closed = false;

  constructor(
    private readonly etcd: Etcd3,
    readonly hostAddress: string,
    private readonly leaseSeconds: number,
    private readonly log: Logger,
  ) {}

  async start(events: ClusterEvents): Promise<void> {
    await this.grantLease(events);
    for (const [key, value] of Object.entries(await this.etcd.getAll().prefix(NETWORKS).strings()))
      await events.networkDefined(JSON.parse(value) as OverlayNetworkDefinition).catch((err: unknown) => {
        this.log.error({ op: "overlay", key, err }, "could not define a network from etcd");
      });
    await this.listEndpoints(events);
    const networks = await this.etcd.watch().prefix(NETWORKS).create();
    networks.on("put", (kv) => {
      void events
        .networkDefined(JSON.parse(kv.value.toString()) as OverlayNetworkDefinition)
        .catch((err: unknown) => this.log.error({ op: "overlay", err }, "could not define a network"));
    });
    const endpoints = await this.etcd.watch().prefix(ENDPOINTS).create();
    endpoints.on("put", (kv) => {
      const at = parseEndpointKey(kv.key.toString());
      if (at === undefined) return;
      const { mac, host } = JSON.parse(kv.value.toString()) as { mac: string; host: string };
      void events
        .endpointPut({ ...at, mac, host })
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
    // A watch that reconnects may have missed deletes: list everything again.
    endpoints.on("connected", () => {
      void this.listEndpoints(events).catch((err: unknown) =>
        this.log.warn({ op: "overlay", err }, "could not list endpoints"),
      );
    });
    this.watchers.push(networks, endpoints);
  }

  /** Defines an overlay network cluster-wide; false when another definition has the name. */
  async defineNetwork(def: OverlayNetworkDefinition): Promise<boolean> {
    const key = `${NETWORKS}${def.name}`;
    const value = JSON.stringify(def);
    const created = await this.etcd
      .if(key, "Create", "==", 0)
      .then(this.etcd.put(key).value(value))
      .options(deadline())
      .commit();
    if (created.succeeded) return true;
    return (await this.etcd.get(key).options(deadline()).string()) === value;
  }

  /** Claims an address for one of this host's endpoints; the host that has it, when it is taken. */
  async claim(record: EndpointRecord): Promise<string | undefined> {
    const key = endpointKey(record.network, record.address);
    const value = JSON.stringify({ mac: record.mac, host: this.hostAddress });
    const lease = this.lease;
    if (lease === undefined) throw new Error("the overlay registry has not started");
    const result = await this.etcd
      .if(key, "Create", "==", 0)
      .then(lease.put(key).value(value))
      .options(deadline())
      .commit();
    if (result.succeeded) return undefined;
    const holder = await this.etcd.get(key).options(deadline()).string();
    const host = holder === null ? undefined : (JSON.parse(holder) as { host: string }).host;
    if (host !== this.hostAddress) return host ?? "another host";
    await lease.put(key).value(value);
    return undefined;
  }

  async release(network: string, address: string): Promise<void> {
    await this.etcd.delete().key(endpointKey(network, address));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers) await w.cancel();
    await this.lease?.revoke().catch(() => undefined);
    this.etcd.close();
  }

  private async listEndpoints(events: ClusterEvents): Promise<void> {
    const all = await this.etcd.getAll().prefix(ENDPOINTS).strings();
    const records = Object.entries(all).flatMap(([key, value]): EndpointRecord[] => {
      const at = parseEndpointKey(key);
      if (at === undefined) return [];
      const { mac, host } = JSON.parse(value) as { mac: string; host: string };
      return [{ ...at, mac, host }];
    });
    await events.endpointsListed(records);
  }

  /** Until etcd answers again: this host's endpoints keep working meanwhile, only unpublished. */
  private regrant(events: ClusterEvents): void {
    if (this.closed) return;
    this.grantLease(events).catch((err: unknown) => {
      this.log.warn({ op: "overlay", err }, "could not publish this host's endpoints; retrying");
      setTimeout(() => this.regrant(events), 1000);
    });
  }

  /** A lease lost while etcd was away is granted again, and this host's endpoints published under it. */
  private async grantLease(events: ClusterEvents): Promise<void> {
    const lease = this.etcd.lease(this.leaseSeconds);
    lease.on("lost", (err) => {
      this.log.warn({ op: "overlay", err }, "etcd lease lost; publishing this host's endpoints again");
      this.regrant(events);
    });
    await lease.grant();
    this.lease = lease;
    for (const own of events.ownEndpoints())
      await lease
        .put(endpointKey(own.network, own.address))
        .value(JSON.stringify({ mac: own.mac, host: own.host }));
  }
}
