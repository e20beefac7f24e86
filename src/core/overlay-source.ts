/**
 * This host's source address on each overlay network (OverlaySettings.sourceAddress): the address a load
 * balancer's connections to another host's backend leave from, as Windows kube-proxy's per-node SourceVIP in
 * overlay mode. It is claimed in etcd like an endpoint's address and published as one, whose MAC is this
 * host's bridge's: every other host then sends the replies back here, where conntrack undoes the DNAT.
 */
import type { Logger } from "pino";
import type { OverlayRegistry } from "../cluster/registry.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { HostnetError } from "../errors.js";
import { lowestFreeAddress } from "../ipam/ipam.js";
import type { Network } from "../model/types.js";
import { overlayBridgeMac } from "../modes/overlay.js";
import type { Store } from "../store/store.js";

export class OverlaySources {
  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    private readonly registry: OverlayRegistry,
  ) {}

  /**
   * Records a free address of the network's subnet as this host's (so no local endpoint gets it), claims it
   * cluster-wide, and tries the next one while other hosts hold them; then puts it on the bridge.
   */
  async claim(net: Network): Promise<void> {
    const subnet = net.subnets[0];
    const settings = net.overlay;
    if (settings === null || subnet === undefined) return;
    const elsewhere = new Set<string>();
    for (;;) {
      const address = this.store.write(() => {
        const current = this.store.network(net.id)?.overlay;
        const free = lowestFreeAddress(this.store, subnet, elsewhere);
        if (current !== undefined && current !== null)
          this.store.setNetworkOverlay(net.id, { ...current, sourceAddress: free ?? null });
        return free;
      });
      if (address === undefined)
        throw new HostnetError("Conflict", `subnet ${subnet.prefix} has no free address for this host`);
      let holder: string | undefined;
      try {
        holder = await this.registry.claim({
          network: net.name,
          address,
          mac: overlayBridgeMac(settings),
          host: this.registry.hostAddress,
        });
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

  /** Claims the source addresses networks recorded before there were any, or whose claim failed. */
  async claimMissing(log: Logger): Promise<void> {
    for (const net of this.store.networks())
      if (net.overlay !== null && net.overlay.sourceAddress === null)
        await this.claim(net).catch((err: unknown) => {
          log.error({ op: "overlay", network: net.name, err }, "could not claim this host's source address");
        });
  }

  async release(net: Network): Promise<void> {
    if (net.overlay?.sourceAddress == null) return;
    await this.registry.release(net.name, net.overlay.sourceAddress);
  }
}
