/**
 * Endpoints whose IPv4 address comes from the LAN's DHCP server (networks with `ipam: dhcp`): a client per
 * attached endpoint, and each lease it reports recorded as the endpoint's address in the store and
 * converged like any other address (interface address, default route, anti-spoofing, ACL maps). A lost
 * lease removes the address again.
 */
import type { Logger } from "pino";
import type { DhcpClients, DhcpEvent } from "../dataplane/linux/dhcp-client.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { contains, parseIp, parsePrefix } from "../model/ip.js";
import type { Endpoint, Namespace } from "../model/types.js";
import type { Store } from "../store/store.js";

export class DhcpLeases {
  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    private readonly clients: DhcpClients,
    private readonly log: Logger,
  ) {}

  /** Starts the endpoint's client if its network leases addresses and it sits in a namespace. */
  start(ep: Endpoint): void {
    const net = this.store.networks.find(ep.networkId);
    if (net?.ipam !== "dhcp" || ep.attachment?.kind !== "namespace") return;
    const ns: Namespace | undefined = this.store.namespaces.find(ep.attachment.namespaceId);
    if (ns === undefined) return;
    this.clients.start(
      {
        key: ep.id,
        netns: ns.path,
        ifname: ep.attachment.ifname,
        hostname: ep.name,
        previous: ep.addresses.find((a) => a.family === 4)?.address ?? null,
      },
      (event) => this.record(ep.id, event),
    );
  }

  stop(endpointId: string): void {
    this.clients.stop(endpointId);
  }

  /** At start-up: a client again for every attached endpoint of a DHCP network. */
  resume(): void {
    for (const net of this.store.networks.all().filter((n) => n.ipam === "dhcp"))
      for (const ep of this.store.endpoints.all({ networkId: net.id })) this.start(ep);
  }

  stopAll(): void {
    this.clients.stopAll();
  }

  private async record(endpointId: string, event: DhcpEvent): Promise<void> {
    const ep = this.store.endpoints.find(endpointId);
    const net = ep === undefined ? undefined : this.store.networks.find(ep.networkId);
    const subnet = net?.subnets.find((s) => s.family === 4);
    if (ep === undefined || subnet === undefined) return;
    try {
      const address = event.kind === "lease" ? parseIp("lease", event.address) : null;
      if (address !== null && !contains(parsePrefix("subnet", subnet.prefix), address)) {
        this.log.warn(
          { op: "dhcp", endpoint: ep.name, address: address.address },
          "lease outside the network's subnet",
        );
        return;
      }
      const current = ep.addresses.find((a) => a.subnetId === subnet.id)?.address ?? null;
      if ((address?.address ?? null) === current) return;
      this.store.write(() =>
        this.store.endpoints.setLeasedAddress(ep.id, subnet.id, address?.address ?? null),
      );
      this.log.info({ op: "dhcp", endpoint: ep.name, address: address?.address ?? null }, "lease recorded");
      await this.reconciler.converge([`ep:${ep.id}`]);
    } catch (err) {
      this.log.error({ op: "dhcp", endpoint: ep.name, err }, "could not record the lease");
    }
  }
}
