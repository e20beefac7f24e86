/**
 * This host's side of an overlay network's addresses. The host claims blocks of the subnet ahead of need and
 * gives its endpoints addresses from them, each claimed in etcd as well; while etcd is unreachable, an
 * address of its own blocks is given out all the same and published when etcd is back. Another host can
 * only take an address of these blocks through etcd (asking for that address), which this host then hears of.
 *
 * One address of each network is the host's own, its source address (OverlaySettings.sourceAddress): the
 * address a load balancer's connections to another host's backend leave from, as Windows kube-proxy's
 * per-node SourceVIP in overlay mode. It is published like an endpoint's, with this host's bridge MAC, so
 * every other host sends the replies back here, where conntrack undoes the DNAT.
 */
import type { Logger } from "pino";
import type { OverlayRegistry } from "../cluster/registry.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { HostnetError } from "../errors.js";
import { blockLength, blocksOf, blockOfValue } from "../ipam/blocks.js";
import { freeAddresses } from "../ipam/ipam.js";
import { cidrOf, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { Network } from "../model/types.js";
import { overlayBridgeMac } from "../model/overlay.js";
import type { Store } from "../store/store.js";

/** Claim another block once fewer than this share of one block's addresses are left free. */
const LOW_WATER = 1 / 2;

const first = (addresses: Iterator<string, void>): string | undefined => {
  const next = addresses.next();
  return next.done === true ? undefined : next.value;
};

export class OverlayAddresses {
  /** One reservation at a time per network, so that two requests do not claim two blocks for one need. */
  private readonly reserving = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    private readonly registry: OverlayRegistry,
    private readonly log: Logger,
  ) {}

  /** This host's blocks of the network's subnet, which its endpoints' addresses come from first. */
  blocks(net: Network): Prefix[] {
    return this.store.overlayBlocks(net.id).map((b) => parsePrefix("block", b));
  }

  /** Whether any address of this host's blocks is free. */
  hasFree(net: Network): boolean {
    const subnet = net.subnets[0];
    return subnet !== undefined && freeAddresses(this.store, subnet, this.blocks(net)).next().done !== true;
  }

  /**
   * Claims an address of this host in etcd: the host that has it, if another does. An address of this
   * host's blocks is this host's even while etcd is unreachable, and is published once it answers.
   */
  async claim(net: Network, address: string | undefined, mac: string): Promise<string | undefined> {
    if (address === undefined) return undefined;
    const own = this.owns(net, address);
    if (own && !this.registry.available) {
      this.registry.publishLater();
      return undefined;
    }
    const record = { network: net.name, address, mac, host: this.registry.hostAddress };
    try {
      return await this.registry.claim(record);
    } catch (err) {
      if (!own) throw err;
      this.registry.publishLater();
      return undefined;
    }
  }

  /**
   * Claims blocks until at least half a block of addresses is free, in the background of requests: etcd
   * may be away, and the next reservation will do.
   */
  reserveAhead(net: Network): Promise<void> {
    const previous = this.reserving.get(net.id) ?? Promise.resolve();
    const next = previous
      .then(() => this.reserve(net))
      .catch((err: unknown) => {
        this.log.warn({ op: "overlay", network: net.name, err }, "could not reserve addresses ahead");
      })
      .finally(() => {
        if (this.reserving.get(net.id) === next) this.reserving.delete(net.id);
      });
    this.reserving.set(net.id, next);
    return next;
  }

  /**
   * Gives this host a source address on the network: a free one of its blocks, else of the subnet, skipping
   * those other hosts hold; then puts it on the bridge.
   */
  async claimSource(net: Network): Promise<void> {
    const subnet = net.subnets[0];
    const settings = net.overlay;
    if (settings === null || subnet === undefined) return;
    const whole = [parsePrefix("subnet", subnet.prefix)];
    const elsewhere = new Set<string>();
    for (;;) {
      const address = this.store.write(() => {
        const free =
          first(freeAddresses(this.store, subnet, this.blocks(net), elsewhere)) ??
          first(freeAddresses(this.store, subnet, whole, elsewhere));
        this.store.setNetworkOverlay(net.id, { ...settings, sourceAddress: free ?? null });
        return free;
      });
      if (address === undefined)
        throw new HostnetError("Conflict", `subnet ${subnet.prefix} has no free address for this host`);
      let holder: string | undefined;
      try {
        holder = await this.claim(net, address, overlayBridgeMac(settings.localAddress));
      } catch (err) {
        this.store.write(() => this.store.setNetworkOverlay(net.id, { ...settings, sourceAddress: null }));
        throw new HostnetError(
          "Unavailable",
          `the cluster's etcd cannot claim this host's address on network "${net.name}": ${String(err)}`,
          {},
          { cause: err },
        );
      }
      if (holder === undefined) break;
      elsewhere.add(address);
    }
    await this.reconciler.converge([`net:${net.id}`]);
  }

  /** Claims the source addresses of networks recorded before there were any, or whose claim failed. */
  async claimMissingSources(): Promise<void> {
    for (const net of this.store.networks())
      if (net.overlay !== null && net.overlay.sourceAddress === null)
        await this.claimSource(net).catch((err: unknown) => {
          this.log.error(
            { op: "overlay", network: net.name, err },
            "could not claim this host's source address",
          );
        });
  }

  /** Gives this host's source address and blocks of a network back to the cluster, once it deleted it. */
  async releaseNetwork(net: Network, blocks: readonly string[]): Promise<void> {
    if (net.overlay?.sourceAddress != null) await this.registry.release(net.name, net.overlay.sourceAddress);
    await this.registry.releaseBlocks(net.name, blocks).catch((err: unknown) => {
      this.log.warn({ op: "overlay", network: net.name, err }, "could not give the network's blocks back");
    });
  }

  private owns(net: Network, address: string): boolean {
    const subnet = net.subnets[0];
    if (subnet === undefined) return false;
    const block = blockOfValue(parsePrefix("subnet", subnet.prefix), parseIp("address", address).value);
    return this.store.overlayBlocks(net.id).includes(block);
  }

  private async reserve(net: Network): Promise<void> {
    const subnet = net.subnets[0];
    if (subnet === undefined || this.store.network(net.id) === undefined) return;
    const prefix = parsePrefix("subnet", subnet.prefix);
    const wanted = Math.max(
      1,
      Math.floor(2 ** ((prefix.family === 4 ? 32 : 128) - blockLength(prefix)) * LOW_WATER),
    );
    const free = (): number => {
      const addresses = freeAddresses(this.store, subnet, this.blocks(net));
      let n = 0;
      while (n < wanted && addresses.next().done !== true) n++;
      return n;
    };
    if (free() >= wanted) return;
    const holders = await this.registry.blockHolders(net.name);
    const mine = new Set(this.store.overlayBlocks(net.id));
    for (const [block, host] of holders)
      if (host === this.registry.hostAddress && !mine.has(block))
        this.store.write(() => this.store.insertOverlayBlock(net.id, block));
    for (const block of blocksOf(prefix)) {
      if (free() >= wanted) return;
      const cidr = cidrOf(block);
      if (holders.has(cidr)) continue;
      if (await this.registry.claimBlock(net.name, cidr)) {
        this.store.write(() => this.store.insertOverlayBlock(net.id, cidr));
        this.log.info({ op: "overlay", network: net.name, block: cidr }, "claimed an address block");
      }
    }
  }
}
