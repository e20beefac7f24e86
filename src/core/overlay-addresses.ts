/**
 * This host's side of an overlay network's addresses. The host claims blocks of the subnet ahead of need and
 * gives its endpoints addresses from them, each claimed in etcd as well; while etcd is unreachable, an
 * address of its own blocks is given out all the same and published when etcd is back. Another host can
 * only take an address of these blocks through etcd (asking for that address), which this host then hears of.
 */
import type { Logger } from "pino";
import type { OverlayRegistry } from "../cluster/registry.js";
import { blockLength, blocksOf, blockOfValue } from "../ipam/blocks.js";
import { freeAddresses } from "../ipam/ipam.js";
import { cidrOf, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import type { Endpoint, Network } from "../model/types.js";
import type { Store } from "../store/store.js";

/** Claim another block once fewer than this share of one block's addresses are left free. */
const LOW_WATER = 1 / 2;

export class OverlayAddresses {
  /** One reservation at a time per network, so that two requests do not claim two blocks for one need. */
  private readonly reserving = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
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
   * Claims a new endpoint's address in etcd: the host that has it, if another does. An address of this
   * host's blocks is the endpoint's even while etcd is unreachable, and is published once it answers.
   */
  async claim(net: Network, ep: Endpoint): Promise<string | undefined> {
    const address = ep.addresses[0]?.address;
    if (address === undefined) return undefined;
    const own = this.owns(net, address);
    if (own && !this.registry.available) {
      this.registry.publishLater();
      return undefined;
    }
    const record = { network: net.name, address, mac: ep.mac, host: this.registry.hostAddress };
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

  /** Gives the network's blocks back to the cluster, when this host deletes the network. */
  async release(net: Network, blocks: readonly string[]): Promise<void> {
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
