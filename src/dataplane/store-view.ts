/**
 * What the store wants of the kernel, read for the reconciler: the objects of a scope or of one owner, what an
 * owner's objects stand on, and which namespaces and interfaces hold something of hostnet's. It reads the
 * store as it is at each call and keeps nothing.
 */
import type { Namespace } from "../model/types.js";
import type { Store } from "../store/store.js";
import {
  desiredState,
  endpointObjects,
  globalObjects,
  lbObjects,
  namespaceObjects,
  networkObjects,
} from "./desired.js";
import type { Owner } from "./naming.js";
import type { KernelObject } from "./objects.js";

export type Scope = "all" | readonly Owner[];

export class StoreView {
  constructor(
    private readonly store: Store,
    /** hostnet's exceptions in the other firewalls, which depend on what the reconciler last observed of them. */
    private readonly firewallObjects: () => KernelObject[],
    /** The flows traces follow now (trace-flows.ts), which only hostnetd's memory holds. */
    private readonly traceObjects: () => KernelObject[],
  ) {}

  desired(scope: Scope): KernelObject[] {
    if (scope === "all") return this.fromStore().concat(this.firewallObjects(), this.traceObjects());
    return scope.flatMap((owner) => this.desiredOf(owner));
  }

  /** Everything the store's records want, without the exceptions in other firewalls. */
  fromStore(): KernelObject[] {
    return desiredState({
      networks: this.store.networks.all(),
      endpoints: this.store.endpoints.all(),
      namespaces: this.store.namespaces.all(),
      loadBalancers: this.store.loadBalancers.all(),
      instance: this.store.meta.instanceId(),
    });
  }

  desiredOf(owner: Owner): KernelObject[] {
    if (owner === "global") return globalObjects();
    if (owner === "firewall") return this.firewallObjects();
    if (owner === "trace") return this.traceObjects();
    if (owner === "orphan") return [];
    const [kind, id] = owner.split(":") as [string, string];
    if (kind === "net") {
      const net = this.store.networks.find(id);
      return net === undefined ? [] : networkObjects(net);
    }
    if (kind === "ns") {
      const ns = this.store.namespaces.find(id);
      return ns === undefined
        ? []
        : namespaceObjects(
            ns,
            this.store.endpoints.all({ namespaceId: ns.id }),
            (netId) => this.store.networks.find(netId),
            this.store.meta.instanceId(),
          );
    }
    if (kind === "lb") {
      const lb = this.store.loadBalancers.find(id);
      return lb === undefined
        ? []
        : lbObjects(
            lb,
            (epId) => this.store.endpoints.find(epId),
            (nsId) => this.store.namespaces.find(nsId),
          );
    }
    const ep = this.store.endpoints.find(id);
    const net = ep === undefined ? undefined : this.store.networks.find(ep.networkId);
    return ep === undefined || net === undefined
      ? []
      : endpointObjects(ep, net, (nsId) => this.store.namespaces.find(nsId));
  }

  /** The owners whose objects an owner's objects may need: the tables, its network, its namespace. */
  standsOn(owner: Owner): Owner[] {
    if (!owner.startsWith("ep:")) return ["global"];
    const ep = this.store.endpoints.find(owner.slice(3));
    if (ep === undefined) return ["global"];
    const ns = ep.attachment?.kind === "namespace" ? [`ns:${ep.attachment.namespaceId}` as const] : [];
    return ["global", `net:${ep.networkId}`, ...ns];
  }

  /**
   * The store's namespaces hostnet has objects in, the only ones observation enters: those it made, and those
   * its endpoints are attached in. An adopted namespace whose endpoints are gone holds nothing of hostnet's.
   */
  namespacesInUse(): Namespace[] {
    const attached = this.store.endpoints.attachedNamespaceIds();
    return this.store.namespaces.all().filter((ns) => ns.owned || attached.has(ns.id));
  }

  /** The interfaces hostnet configures in a namespace of the store, and its lo. */
  ifnamesIn(path: string): string[] {
    const ns = this.store.namespaces.find(path);
    if (ns === undefined) return [];
    return [
      "lo",
      ...this.store.endpoints
        .all({ namespaceId: ns.id })
        .flatMap((ep) => (ep.attachment?.kind === "namespace" ? [ep.attachment.ifname] : [])),
    ];
  }
}
