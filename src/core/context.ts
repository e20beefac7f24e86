/**
 * What every part of the core works with: the store, the reconciler, hostnetd's namespace (HostSide) and
 * the one way a write reaches the kernel. Each noun's module (networks, endpoints, namespaces, policies,
 * port mappings, overlay) takes it as its first argument; the service builds it once.
 */
import { randomUUID } from "node:crypto";
import type { HostAddress, NamespaceAtPath } from "../dataplane/hostfacts.js";
import type { UplinkHost } from "../dataplane/uplink.js";
import type { LinkStats } from "../dataplane/linux/link-stats.js";
import type { ForgetBackend } from "../dataplane/linux/backend-memory.js";
import type { Owner } from "../dataplane/naming.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import type { OverlayRegistry } from "../cluster/registry.js";
import { notFound } from "../errors.js";
import type { Prefix } from "../model/ip.js";
import type { KernelFeatures } from "../model/kernel-features.js";
import type { Endpoint, LoadBalancer, Namespace, Network } from "../model/types.js";
import type { EventLog } from "../events/log.js";
import type { Store } from "../store/store.js";
import type { DhcpLeases } from "./leases.js";
import type { LoadBalancerService } from "./load-balancers.js";
import type { OverlayAddresses } from "./overlay-addresses.js";
import type { TraceRunner } from "./trace.js";

/** Prefixes already routed or addressed in hostnetd's namespace, for picking a free default subnet. */
type HostPrefixes = () => Promise<Prefix[]>;

/** What the service uses of hostnetd's namespace besides the reconciler. */
export interface HostSide {
  readonly prefixes: HostPrefixes;
  /** The namespace's own addresses and default gateways, which a network that owns its subnet must not hold. */
  readonly addresses: () => Promise<HostAddress[]>;
  readonly uplinks: UplinkHost;
  readonly leases: DhcpLeases;
  readonly forgetBackend: ForgetBackend;
  /** How long a client keeps its backend (source-IP affinity) for load balancers that do not say (LB_AFFINITY_SECONDS). */
  readonly lbAffinitySeconds?: number;
  /** The MTU of the interface that has this address, if one has. */
  readonly interfaceMtu: (address: string) => Promise<number | undefined>;
  /** The addresses (CIDRs) of an interface in a namespace; undefined when it does not exist. */
  readonly interfaceAddresses: (netns: string, ifname: string) => Promise<string[] | undefined>;
  /** Every interface's traffic counters in hostnetd's namespace, by name. */
  readonly linkStats: () => Promise<ReadonlyMap<string, LinkStats>>;
  /** What the file at a path is, for a namespace a runtime hands in (or hostnet is to make there). */
  readonly namespaceAt: (path: string) => NamespaceAtPath;
  /** The kernel features this host has (dataplane/features.ts); policies that need one are refused without it. */
  readonly kernelFeatures?: () => KernelFeatures;
  /** This host's underlay address (hostnetd --host-address), which overlay networks need. */
  readonly hostAddress?: string;
  /** Sends one probe from an endpoint's namespace with nftables tracing on for its flow alone. */
  readonly trace: TraceRunner;
  /** The cluster, when hostnetd runs with --etcd: overlay networks are then the cluster's. */
  readonly overlay?: { readonly registry: OverlayRegistry; readonly addresses: OverlayAddresses };
}

export interface Core {
  readonly store: Store;
  readonly reconciler: Reconciler;
  readonly host: HostSide;
  readonly loadBalancers: LoadBalancerService;
  /** Where changes are recorded once they reached the kernel (the event stream). */
  readonly events: EventLog;
  /**
   * Converges `scope`; if the kernel refuses, runs `undo` on the store and converges back, so nothing is left
   * half-applied.
   */
  convergeOrUndo(scope: readonly Owner[], undo: () => void): Promise<void>;
  /**
   * Ids of namespaces hostnet is making: in the store, with no file until their converge (queued behind
   * others) makes it. A check for vanished namespaces meanwhile must not take them for gone.
   */
  readonly namespacesInMaking: Set<string>;
}

/** A new id, and its first 8 hex digits (what kernel names are made of) when no other object has them. */
export function freshId(taken: (shortId: string) => boolean): [string, string] {
  for (;;) {
    const id = randomUUID();
    const shortId = id.slice(0, 8);
    if (!taken(shortId)) return [id, shortId];
  }
}

export function getNetwork(core: Core, ref: string): Network {
  const net = core.store.networks.find(ref);
  if (net === undefined) throw notFound("network", ref);
  return net;
}

export function getEndpoint(core: Core, ref: string): Endpoint {
  const ep = core.store.endpoints.find(ref);
  if (ep === undefined) throw notFound("endpoint", ref);
  return ep;
}

export function getNamespace(core: Core, ref: string): Namespace {
  const ns = core.store.namespaces.find(ref);
  if (ns === undefined) throw notFound("namespace", ref);
  return ns;
}

/** The load balancers this endpoint is a backend of: deleting it changes them too. */
export function balancersOf(core: Core, ep: Endpoint): LoadBalancer[] {
  return core.store.loadBalancers.withBackend(ep.id).map((id) => core.loadBalancers.get(id));
}
