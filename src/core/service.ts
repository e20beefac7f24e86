/**
 * The one service every front door calls. A write validates, allocates and records intent in one store
 * transaction, then converges the kernel for exactly what it touched; if the kernel refuses, the record
 * is removed and the kernel converged back, so nothing is left half-applied. The work is done by one
 * module per noun (networks, endpoints, namespaces, policies, port mappings, and the overlay's cluster);
 * this facade only hands each call to its module.
 */
import type { Counter } from "../dataplane/counters.js";
import { describe, identity } from "../dataplane/objects.js";
import type { Op } from "../dataplane/plan.js";
import type { RepairScope } from "../dataplane/drift.js";
import type { Reconciler, RepairReport } from "../dataplane/reconciler.js";
import { EventLog } from "../events/log.js";
import type { EndpointTraffic, MetricsSources } from "../metrics/metrics.js";
import type { Family, Prefix } from "../model/ip.js";
import type { Endpoint, Namespace, Network, Origin, Protocol } from "../model/types.js";
import type { EndpointPolicy, NetworkPolicy } from "../policies/index.js";
import type { Store } from "../store/store.js";
import { convergeOrUndo } from "./converge.js";
import { getEndpoint, getNamespace, getNetwork, type Core, type HostSide } from "./context.js";
import {
  attachEndpoint,
  createEndpoint,
  deleteEndpoint,
  deleteEndpointAddress,
  detachEndpoint,
  endpointByOrigin,
  endpointsByOrigin,
  handOffEndpoint,
  listEndpoints,
} from "./endpoints.js";
import { LoadBalancerService } from "./load-balancers.js";
import { repairDrift, vanishedNamespaces, type VanishedNamespace } from "./drift.js";
import { createNamespace, deleteNamespace, namespaceVanished } from "./namespaces.js";
import { createNetwork, deleteNetwork, ensureDefaultNetwork, networkByOrigin } from "./networks.js";
import { modifyEndpointPolicies, modifyNetworkPolicies, policyCounters } from "./policies.js";
import { hostPortTaken, setPortMappings } from "./port-mappings.js";
import type {
  AttachSpec,
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest,
  PortMappingSpec,
} from "./specs.js";
export type { TraceReport, TraceSpec } from "./trace.js";
import { freeSubnet } from "./subnets.js";
import { endpointStats, kernelCounters } from "./traffic.js";
import { traceEndpoint, type TraceReport, type TraceSpec } from "./trace.js";
import { restoreUplinks } from "./uplinks.js";
import { LB_AFFINITY_SECONDS } from "../model/hns-load-balancer.js";

// The doors' requests, with the service that takes them.
export type {
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest,
  PolicySpec,
  PortMappingSpec,
  SubnetSpec,
} from "./specs.js";

/** One operation of a plan as a door shows it: what would be done, to what kind of object, which one. */
export interface PlannedOperation {
  readonly action: Op["action"];
  readonly kind: Op["object"]["kind"];
  readonly description: string;
  /** Why a repair leaves it alone for now (it was repaired too often); a write to its owner still makes it. */
  readonly heldBack?: string;
  /** Why the last attempt to make it did not take (another program holds a resolver's address:53). */
  readonly lastError?: string;
}

export class HostnetService {
  /** Load balancers over this service's endpoints. */
  readonly loadBalancers: LoadBalancerService;
  private readonly core: Core;

  /** `events`: where changes are recorded (the event stream); a log of its own on `store` unless given. */
  constructor(
    store: Store,
    reconciler: Reconciler,
    host: HostSide,
    readonly events = new EventLog(store),
  ) {
    this.loadBalancers = new LoadBalancerService(
      store,
      reconciler,
      host.forgetBackend,
      host.lbAffinitySeconds ?? LB_AFFINITY_SECONDS,
      events,
    );
    this.core = {
      store,
      reconciler,
      host,
      events,
      loadBalancers: this.loadBalancers,
      convergeOrUndo: (scope, undo) => convergeOrUndo(store, reconciler, scope, undo),
      namespacesInMaking: new Set(),
    };
  }

  // Networks

  networks(): Network[] {
    return this.core.store.networks.all();
  }

  /** The network with this id or name, if there is one. */
  findNetwork(ref: string): Network | undefined {
    return this.core.store.networks.find(ref);
  }

  network(ref: string): Network {
    return getNetwork(this.core, ref);
  }

  /** The network a client made under its own key, if there is one. */
  networkByOrigin(origin: Origin): Network | undefined {
    return networkByOrigin(this.core, origin);
  }

  createNetwork(spec: NetworkSpec): Promise<Network> {
    return createNetwork(this.core, spec);
  }

  /**
   * Deletes a network. A shared overlay network is deleted from the whole cluster, once no other host has
   * endpoints on it; `hostOnly` deletes it here only (the cluster has done so already, or never had it).
   */
  deleteNetwork(ref: string, opts: { force?: boolean; hostOnly?: boolean } = {}): Promise<void> {
    return deleteNetwork(this.core, ref, opts);
  }

  /** Changes the policies every endpoint of a network gets besides its own, all of it or none. */
  modifyNetworkPolicies(ref: string, request: PolicyRequest<NetworkPolicy>): Promise<Network> {
    return modifyNetworkPolicies(this.core, ref, request);
  }

  /** Creates the default NAT network once, on the first start of a fresh state directory. */
  ensureDefaultNetwork(name: string): Promise<void> {
    return ensureDefaultNetwork(this.core, name);
  }

  /** Gives uplinks back what they had where hostnetd stopped before it could (after the start-up converge). */
  restoreUplinks(): Promise<void> {
    return restoreUplinks(this.core);
  }

  /** A free subnet of the default pools, clear of `alsoTaken` and of everything the host has. */
  freeSubnet(family: Family, alsoTaken: readonly Prefix[], field: string): Promise<Prefix> {
    return freeSubnet(this.core, family, alsoTaken, field);
  }

  // Namespaces

  namespaces(): Namespace[] {
    return this.core.store.namespaces.all();
  }

  /** The namespace with this id, name or path, if there is one. */
  findNamespace(ref: string): Namespace | undefined {
    return this.core.store.namespaces.find(ref);
  }

  namespace(ref: string): Namespace {
    return getNamespace(this.core, ref);
  }

  createNamespace(spec: NamespaceSpec): Promise<Namespace> {
    return createNamespace(this.core, spec);
  }

  /** Detaches every endpoint in the namespace, then forgets it (and deletes it if hostnet made it). */
  deleteNamespace(ref: string): Promise<void> {
    return deleteNamespace(this.core, ref);
  }

  /**
   * Detaches the endpoints of a namespace deleted under hostnet, saying why, and forgets the namespace if
   * hostnet made it; returns the endpoints it detached.
   */
  namespaceVanished(ref: string): Promise<Endpoint[]> {
    return namespaceVanished(this.core, ref);
  }

  /** Every namespace of the store deleted under hostnet, each handled as namespaceVanished. */
  vanishedNamespaces(): Promise<VanishedNamespace[]> {
    return vanishedNamespaces(this.core);
  }

  /**
   * Repairs drift the kernel's monitors reported, or all drift (the periodic check): vanished namespaces
   * first, then what the kernel lost.
   */
  repairDrift(
    cause: string,
    drift: RepairScope,
  ): Promise<{ vanished: VanishedNamespace[]; report: RepairReport }> {
    return repairDrift(this.core, cause, drift);
  }

  // Endpoints

  endpoints(filter: { network?: string; namespace?: string } = {}): Endpoint[] {
    return listEndpoints(this.core, filter);
  }

  /** The endpoint with this id or name, if there is one. */
  findEndpoint(ref: string): Endpoint | undefined {
    return this.core.store.endpoints.find(ref);
  }

  endpoint(ref: string): Endpoint {
    return getEndpoint(this.core, ref);
  }

  /** The endpoint a client made under its own key, if there is one. */
  endpointByOrigin(origin: Origin): Endpoint | undefined {
    return endpointByOrigin(this.core, origin);
  }

  /** Every endpoint one client made, with the client's key for it. */
  endpointsByOrigin(kind: Origin["kind"]): { endpoint: Endpoint; key: string }[] {
    return endpointsByOrigin(this.core, kind);
  }

  createEndpoint(spec: EndpointSpec): Promise<Endpoint> {
    return createEndpoint(this.core, spec);
  }

  deleteEndpoint(ref: string): Promise<void> {
    return deleteEndpoint(this.core, ref);
  }

  /** Takes one address from another host's endpoint, which keeps its others. */
  deleteEndpointAddress(ref: string, address: string): Promise<void> {
    return deleteEndpointAddress(this.core, ref, address);
  }

  attachEndpoint(ref: string, spec: AttachSpec): Promise<Endpoint> {
    return attachEndpoint(this.core, ref, spec);
  }

  /** Makes the endpoint's veth for a runtime that moves it into `sandbox` itself (Docker's Join). */
  handOffEndpoint(ref: string, sandbox: string): Promise<Endpoint> {
    return handOffEndpoint(this.core, ref, sandbox);
  }

  detachEndpoint(ref: string): Promise<Endpoint> {
    return detachEndpoint(this.core, ref);
  }

  /** Changes an endpoint's policies in one step: all of the change reaches the kernel, or none of it. */
  modifyPolicies(ref: string, request: PolicyRequest): Promise<Endpoint> {
    return modifyEndpointPolicies(this.core, ref, request);
  }

  /** The endpoint's policies, each ACL with the packets and bytes its rules matched so far. */
  policyCounters(ref: string): Promise<{ policy: EndpointPolicy; counter: Counter | null }[]> {
    return policyCounters(this.core, ref);
  }

  /** An endpoint's traffic and drops, from the kernel's counters (HNS's endpoint statistics). */
  endpointStats(ref: string): Promise<EndpointTraffic & { id: string }> {
    return endpointStats(this.core, ref);
  }

  /** What metrics read when scraped: objects, traffic, ACL hits. */
  metricsSources(): MetricsSources {
    return {
      objects: () => this.core.store.census.objects(),
      kernelCounters: () => kernelCounters(this.core),
    };
  }

  /** Replaces an endpoint's port mappings in one step: all of them reach the kernel, or none. */
  setPortMappings(ref: string, specs: readonly PortMappingSpec[]): Promise<Endpoint> {
    return setPortMappings(this.core, ref, specs);
  }

  /**
   * Whether an endpoint other than `exceptEndpoint` has the host port on `hostIp` (every address if undefined),
   * or a NodePort load balancer has it.
   */
  hostPortTaken(
    protocol: Protocol,
    hostPort: number,
    hostIp: string | undefined,
    exceptEndpoint: string,
  ): boolean {
    return hostPortTaken(this.core, { protocol, hostPort, hostIp }, exceptEndpoint);
  }

  // What the doors ask of the kernel, answered here so that no door reaches into the dataplane.

  /** What a full converge would do now, each operation described for people (`GET /plan`). */
  async plan(): Promise<PlannedOperation[]> {
    const { ops, heldBack, unmade } = await this.core.reconciler.preview();
    return ops.map((op) => {
      const why = heldBack.get(identity(op.object));
      const failed = unmade.get(identity(op.object));
      return {
        action: op.action,
        kind: op.object.kind,
        description: describe(op.object),
        ...(why === undefined ? {} : { heldBack: why }),
        ...(failed === undefined ? {} : { lastError: failed }),
      };
    });
  }

  /**
   * Why a packet from an endpoint goes where it goes: one probe, or the next packet of the flow it sends
   * (until `signal` says the caller left), traced through hostnet's rules.
   */
  trace(spec: TraceSpec, signal?: AbortSignal): Promise<TraceReport> {
    return traceEndpoint(this.core, this.core.host.trace, spec, signal);
  }

  /** The addresses (CIDRs) of an interface in a namespace; undefined when it does not exist (CNI CHECK). */
  interfaceAddresses(netns: string, ifname: string): Promise<string[] | undefined> {
    return this.core.host.interfaceAddresses(netns, ifname);
  }
}
