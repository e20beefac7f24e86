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
import type { EndpointRecord, OverlayRegistry } from "../cluster/registry.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { HostnetError } from "../errors.js";
import { blocksOf, blockOfValue, blockSize } from "../ipam/blocks.js";
import { freeAddresses } from "../ipam/ipam.js";
import { cidrOf, contains, overlaps, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { Network, Subnet } from "../model/types.js";
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

  /** This host's blocks of one of the network's subnets, which its endpoints' addresses come from first. */
  blocks(net: Network, subnet: Subnet): Prefix[] {
    const whole = parsePrefix("subnet", subnet.prefix);
    return this.store.networks
      .overlayBlocks(net.id)
      .map((b) => parsePrefix("block", b))
      .filter((b) => overlaps(whole, b));
  }

  /** Whether any address of this host's blocks of the subnet is free. */
  hasFree(net: Network, subnet: Subnet): boolean {
    return first(freeAddresses(this.store, subnet, this.blocks(net, subnet))) !== undefined;
  }

  /**
   * Claims all of an endpoint's addresses of this host in etcd. If another host has one, the others go back
   * and the answer names it and its holder: nothing stays claimed for an endpoint that is not created. An
   * address of this host's blocks is this host's even while etcd is unreachable, and is published once it
   * answers; etcd failing on any other throws, after giving back what was claimed.
   */
  async claim(
    net: Network,
    addresses: readonly string[],
    owner: Pick<EndpointRecord, "mac" | "names">,
  ): Promise<{ address: string; holder: string } | undefined> {
    const claimed: string[] = [];
    const giveBack = async (): Promise<void> => {
      for (const a of claimed) await this.registry.release(net.name, a);
    };
    for (const address of addresses) {
      let holder: string | undefined;
      try {
        holder = await this.claimOne(net, address, owner);
      } catch (err) {
        await giveBack();
        throw err;
      }
      if (holder !== undefined) {
        await giveBack();
        return { address, holder };
      }
      claimed.push(address);
    }
    return undefined;
  }

  private async claimOne(
    net: Network,
    address: string,
    owner: Pick<EndpointRecord, "mac" | "names">,
  ): Promise<string | undefined> {
    const own = this.owns(net, address);
    if (own && !this.registry.available) {
      this.registry.publishLater();
      return undefined;
    }
    const record = { network: net.name, address, ...owner, host: this.registry.hostAddress };
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
    const subnet = net.subnets.find((s) => s.family === 4);
    const settings = net.overlay;
    if (settings === null || subnet === undefined) return;
    const whole = [parsePrefix("subnet", subnet.prefix)];
    const elsewhere = new Set<string>();
    for (;;) {
      const address = this.store.write(() => {
        const free =
          first(freeAddresses(this.store, subnet, this.blocks(net, subnet), elsewhere)) ??
          first(freeAddresses(this.store, subnet, whole, elsewhere));
        this.store.networks.setOverlay(net.id, { ...settings, sourceAddress: free ?? null });
        return free;
      });
      if (address === undefined)
        throw new HostnetError("Conflict", `subnet ${subnet.prefix} has no free address for this host`);
      let holder: string | undefined;
      try {
        holder = await this.claimOne(net, address, { mac: overlayBridgeMac(settings.localAddress) });
      } catch (err) {
        this.store.write(() => this.store.networks.setOverlay(net.id, { ...settings, sourceAddress: null }));
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
    for (const net of this.store.networks.all())
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
    const ip = parseIp("address", address);
    const subnet = net.subnets.map((s) => parsePrefix("subnet", s.prefix)).find((p) => contains(p, ip));
    return (
      subnet !== undefined &&
      this.store.networks.overlayBlocks(net.id).includes(blockOfValue(subnet, ip.value))
    );
  }

  /** Claims blocks of each subnet of the network until half a block of its addresses is free. */
  private async reserve(net: Network): Promise<void> {
    if (this.store.networks.find(net.id) === undefined) return;
    const short = net.subnets.filter((s) => this.freeCount(net, s) < wanted(s));
    if (short.length === 0) return;
    const holders = await this.registry.blockHolders(net.name);
    const mine = new Set(this.store.networks.overlayBlocks(net.id));
    for (const [block, host] of holders)
      if (host === this.registry.hostAddress && !mine.has(block))
        this.store.write(() => this.store.networks.insertOverlayBlock(net.id, block));
    for (const subnet of short)
      // Lazily, block by block: an IPv6 /64 has 2^58 of them, and the first few unclaimed ones will do.
      for (const block of blocksOf(parsePrefix("subnet", subnet.prefix))) {
        if (this.freeCount(net, subnet) >= wanted(subnet)) break;
        const cidr = cidrOf(block);
        if (holders.has(cidr)) continue;
        if (await this.registry.claimBlock(net.name, cidr)) {
          this.store.write(() => this.store.networks.insertOverlayBlock(net.id, cidr));
          this.log.info({ op: "overlay", network: net.name, block: cidr }, "claimed an address block");
        }
      }
  }

  /** How many addresses of this host's blocks of the subnet are free, counting up to what is wanted. */
  private freeCount(net: Network, subnet: Subnet): number {
    const addresses = freeAddresses(this.store, subnet, this.blocks(net, subnet));
    let n = 0;
    while (n < wanted(subnet) && addresses.next().done !== true) n++;
    return n;
  }
}

/** How many free addresses of its blocks a host keeps in a subnet: half a block. */
function wanted(subnet: Subnet): number {
  return Math.max(1, Math.floor(Number(blockSize(parsePrefix("subnet", subnet.prefix))) * LOW_WATER));
}
