/**
 * Load balancers (HNS's HostComputeLoadBalancer): checked, recorded and converged like every other write.
 * Unlike HNS, which re-creates a load balancer to change its backends, adding or removing one backend is
 * one store row and one converge of that load balancer alone.
 */
import { randomUUID } from "node:crypto";
import { conflict, conflictAt, HostnetError, invalidArgument, notFound } from "../errors.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { contains, familyOfAddress, notUnicast, parseIp, parsePrefix, type Family } from "../model/ip.js";
import type { Endpoint, LbPortMapping, LoadBalancer, Network, Protocol } from "../model/types.js";
import type { FieldValue } from "../policies/kind.js";
import type { LoadBalancerStore } from "../store/load-balancers.js";
import type { Store } from "../store/store.js";
import type { FlowKey, ForgetBackend } from "../dataplane/linux/backend-memory.js";
import type { EventLog } from "../events/log.js";
import { convergeOrUndo } from "./converge.js";
import { loadBalancerChanged, type Recorder } from "./record.js";
import { checkLength, limits } from "../model/limits.js";
import { checkName, checkPort } from "./validate.js";
import { LB_AFFINITY_MAX_SECONDS } from "../model/hns-load-balancer.js";

/**
 * A load balancer as a door asks for it. Each value the request gives carries the door's path for it; what
 * the request lacks as a whole the core names in its own words (`vips`, `portMappings`, `backends`,
 * `sourceVip`; errors.ts).
 */
export interface LoadBalancerSpec {
  readonly name?: string;
  readonly vips: readonly FieldValue<string>[];
  readonly portMappings: readonly LbPortMappingSpec[];
  readonly backends: readonly BackendSpec[];
  readonly internal: boolean;
  readonly sourceVip?: FieldValue<string>;
  /** Direct server return, and where the request says so (or would). */
  readonly dsr: FieldValue<boolean>;
  /** An IPv6 load balancer (every VIP IPv6), and where the request says so. */
  readonly ipv6: FieldValue<boolean>;
  /** How long a client keeps its backend (source-IP affinity), in seconds; the daemon's default if absent. */
  readonly affinityTimeout?: FieldValue<number>;
}

/** A port of the frontend and the backends' port it goes to, each part with its field. */
interface LbPortMappingSpec {
  readonly protocol: Protocol;
  readonly externalPort: FieldValue<number>;
  readonly internalPort: FieldValue<number>;
  /** Source-IP affinity, and the field that asks for it (or would). */
  readonly affinity: FieldValue<boolean>;
  readonly localRoutedVip: boolean;
  readonly keptFlags: number;
}

/** A backend endpoint by id or name, and the field it came from. */
export interface BackendSpec {
  readonly field: string;
  readonly ref: string;
}

export class LoadBalancerService {
  private readonly lbs: LoadBalancerStore;
  private readonly recorder: Recorder;

  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    private readonly forgetBackend: ForgetBackend,
    /** The affinity timeout of load balancers that give none (hostnetd --lb-affinity-timeout). */
    private readonly affinitySeconds: number,
    events: EventLog,
  ) {
    this.lbs = store.loadBalancers;
    this.recorder = { store, events };
  }

  list(): LoadBalancer[] {
    return this.lbs.all();
  }

  get(ref: string): LoadBalancer {
    const lb = this.lbs.find(ref);
    if (lb === undefined) throw notFound("load balancer", ref);
    return lb;
  }

  async create(spec: LoadBalancerSpec): Promise<LoadBalancer> {
    const id = randomUUID();
    const { lb, vipFields } = this.checked(id, spec.name ?? `lb-${id.slice(0, 8)}`, spec);
    this.store.write(() => {
      this.checkAmongOthers(lb, vipFields, spec);
      this.lbs.insert(lb, lb.backends);
    });
    await convergeOrUndo(this.store, this.reconciler, [`lb:${id}`], () => this.lbs.delete(id));
    const created = this.get(id);
    loadBalancerChanged(this.recorder, "create", created);
    return created;
  }

  /**
   * Makes the load balancer what `spec` says (HNS ModifyLoadbalancer: the whole document), checked as a
   * create is. The kernel gets the difference only: frontends and backends that stay are not touched, so
   * their connections live on; a backend or VIP that goes is forgotten as removeBackend forgets it.
   */
  async update(ref: string, spec: LoadBalancerSpec): Promise<LoadBalancer> {
    const before = this.get(ref);
    const { lb, vipFields } = this.checked(before.id, spec.name ?? before.name, spec);
    this.store.write(() => {
      this.checkAmongOthers(lb, vipFields, spec);
      this.lbs.replace(lb, lb.backends);
    });
    await convergeOrUndo(this.store, this.reconciler, [`lb:${before.id}`], () =>
      this.lbs.replace(before, before.backends),
    );
    const after = this.get(before.id);
    const gone = (ep: string): boolean => !after.backends.includes(ep);
    // UDP flows and affinities name a backend's port and are SNAT'ed by the SourceVIP: a change of either
    // makes every flow of the load balancer stale.
    const translationChanged =
      JSON.stringify(before.portMappings) !== JSON.stringify(after.portMappings) ||
      before.sourceVip !== after.sourceVip;
    const kept = new Set(flowKeys(after).map((f) => JSON.stringify(f)));
    await this.forgetBackend([
      ...flowKeys(before).filter((f) => translationChanged || !kept.has(JSON.stringify(f))),
      ...this.backendAddresses(
        before.backends.filter(gone).flatMap((id) => this.store.endpoints.find(id) ?? []),
        flowKeys(after),
      ),
    ]);
    loadBalancerChanged(this.recorder, "update", after);
    return after;
  }

  /** What a load balancer of `spec` would be, checked but for what other load balancers may hold. */
  private checked(
    id: string,
    rawName: string,
    spec: LoadBalancerSpec,
  ): {
    lb: Omit<LoadBalancer, "createdAt">;
    vipFields: readonly { field: string; address: string }[];
  } {
    const name = checkName("name", rawName);
    if (spec.vips.length === 0) checkNodePort(spec);
    if (spec.portMappings.length === 0)
      throw invalidArgument("portMappings", "give at least one port mapping");
    checkLength(spec.vips, limits.vips, "VIPs");
    checkLength(
      spec.portMappings.map((m) => ({ field: m.externalPort.field })),
      limits.lbPortMappings,
      "port mappings",
    );
    checkLength(spec.backends, limits.lbBackends, "backends");
    const vipFields = spec.vips.map((v) => ({ field: v.field, address: this.checkVip(v.field, v.value) }));
    const addresses = vipFields.map((v) => v.address);
    if (spec.ipv6.value)
      for (const { field, address } of vipFields)
        if (!address.includes(":"))
          throw invalidArgument(spec.ipv6.field, `says IPv6, and ${field} ${address} is IPv4`);
    const dsr = spec.dsr.value;
    const portMappings = spec.portMappings.map((m): LbPortMapping => ({
      protocol: m.protocol,
      externalPort: checkPort(m.externalPort.field, m.externalPort.value),
      internalPort: checkPort(m.internalPort.field, m.internalPort.value),
      affinity: m.affinity.value,
      localRoutedVip: m.localRoutedVip,
      keptFlags: m.keptFlags,
    }));
    spec.portMappings.forEach((m, i) => {
      const first = spec.portMappings.findIndex(
        (o) => o.protocol === m.protocol && o.externalPort.value === m.externalPort.value,
      );
      if (first !== i) throw invalidArgument(m.externalPort.field, "is mapped twice");
    });
    if (dsr) this.checkDsr(spec);
    const families = frontendFamilies({ vips: addresses, ipv6: spec.ipv6.value });
    const resolved = spec.backends.map((b) => ({ field: b.field, ep: this.backend(b, families, dsr) }));
    const unique = resolved.filter(({ ep }, i) => resolved.findIndex((o) => o.ep.id === ep.id) === i);
    checkSize(families, portMappings.length, unique);
    const backends = unique.map(({ ep }) => ep.id);
    const sourceVip =
      spec.sourceVip === undefined
        ? null
        : this.checkSourceVip(spec.sourceVip.field, spec.sourceVip.value, families);
    const lb = {
      id,
      name,
      vips: addresses,
      portMappings,
      backends,
      internal: spec.internal,
      sourceVip,
      dsr,
      ipv6: spec.ipv6.value,
      affinityTimeout: this.affinityTimeout(spec),
    };
    return { lb, vipFields };
  }

  /** The affinity timeout a load balancer of `spec` has: null without affinity, the daemon's if it gives none. */
  private affinityTimeout(spec: LoadBalancerSpec): number | null {
    const given = spec.affinityTimeout;
    const affine = spec.portMappings.some((m) => m.affinity.value);
    if (given === undefined) return affine ? this.affinitySeconds : null;
    if (!affine)
      throw invalidArgument(given.field, "is for source-IP affinity, and no port mapping asks for it");
    if (!Number.isInteger(given.value) || given.value < 1 || given.value > LB_AFFINITY_MAX_SECONDS)
      throw invalidArgument(
        given.field,
        `must be a whole number of seconds from 1 to ${LB_AFFINITY_MAX_SECONDS} (${given.value} given)`,
      );
    return given.value;
  }

  /**
   * What other load balancers hold that `lb` may not have too; inside the store transaction that writes it.
   * Only those with one of its VIPs are read: reading them all made each create cost more with each one.
   */
  private checkAmongOthers(
    lb: Omit<LoadBalancer, "createdAt">,
    vipFields: readonly { field: string; address: string }[],
    spec: LoadBalancerSpec,
  ): void {
    // find() matches an id too: a name that is another load balancer's id would make that one unreachable.
    const named = this.lbs.find(lb.name);
    if (named !== undefined && named.id !== lb.id)
      throw conflict(`load balancer "${lb.name}" already exists`, "name");
    if (lb.vips.length === 0) this.checkNodePortsFree(lb, spec);
    const others = this.lbs.withVips(lb.vips).filter((o) => o.id !== lb.id);
    for (const { field, address: vip } of vipFields) {
      // A DSR VIP is routed to its backends as a whole: no other load balancer can have it.
      const sharing = others.find((o) => o.vips.includes(vip) && (o.dsr || lb.dsr));
      if (sharing !== undefined)
        throw conflictAt(field, `${vip} is a VIP of "${sharing.name}" too, and a DSR VIP cannot be shared`);
      for (const m of lb.portMappings) this.checkFrontendFree(others, field, vip, m);
      // Connections are SNAT'ed by the VIP they came to: a VIP has one SourceVIP, or none.
      const other = others.find((o) => o.vips.includes(vip) && o.sourceVip !== lb.sourceVip);
      if (other !== undefined)
        throw conflictAt(
          spec.sourceVip?.field ?? "sourceVip",
          `${vip} is a VIP of "${other.name}" too, whose SourceVIP is ${other.sourceVip ?? "none"}`,
        );
    }
  }

  async delete(ref: string): Promise<void> {
    const lb = this.get(ref);
    this.store.write(() => this.lbs.delete(lb.id));
    await this.reconciler.converge([`lb:${lb.id}`]);
    await this.forgetBackend(flowKeys(lb));
    loadBalancerChanged(this.recorder, "delete", lb);
  }

  /** Adds one backend: new connections may land on it at once. */
  async addBackend(ref: string, backend: BackendSpec): Promise<LoadBalancer> {
    const lb = this.get(ref);
    const ep = this.backend(backend, frontendFamilies(lb), lb.dsr);
    if (lb.backends.includes(ep.id)) return lb;
    const current = lb.backends.flatMap((id) => {
      const existing = this.store.endpoints.find(id);
      return existing === undefined ? [] : [{ field: backend.field, ep: existing }];
    });
    checkSize(frontendFamilies(lb), lb.portMappings.length, [...current, { field: backend.field, ep }]);
    this.store.write(() => this.lbs.addBackend(lb.id, ep.id));
    await convergeOrUndo(this.store, this.reconciler, [`lb:${lb.id}`], () =>
      this.lbs.removeBackend(lb.id, ep.id),
    );
    const changed = this.get(lb.id);
    loadBalancerChanged(this.recorder, "update", changed);
    return changed;
  }

  /**
   * Removes one backend: it gets no new connections; those it has finish (conntrack keeps their DNAT), but
   * its UDP flows and the clients pinned to it by affinity are forgotten, so they go to the backends that
   * remain.
   */
  async removeBackend(ref: string, backend: BackendSpec): Promise<LoadBalancer> {
    const lb = this.get(ref);
    const ep = this.store.endpoints.find(backend.ref);
    if (ep === undefined || !lb.backends.includes(ep.id))
      throw new HostnetError("NotFound", `endpoint "${backend.ref}" is no backend of "${lb.name}"`, {
        field: backend.field,
      });
    this.store.write(() => this.lbs.removeBackend(lb.id, ep.id));
    await convergeOrUndo(this.store, this.reconciler, [`lb:${lb.id}`], () =>
      this.lbs.addBackend(lb.id, ep.id),
    );
    await this.forget([{ lbs: [lb], ep }]);
    const changed = this.get(lb.id);
    loadBalancerChanged(this.recorder, "update", changed);
    return changed;
  }

  /**
   * What the kernel remembers of endpoints as backends of load balancers (see backend-memory.ts), each with
   * its own: one batch however many, so deleting a network of many backends is not a conntrack each.
   */
  async forget(
    backends: readonly { readonly lbs: readonly LoadBalancer[]; readonly ep: Endpoint }[],
  ): Promise<void> {
    await this.forgetBackend(
      backends.flatMap(({ lbs, ep }) => lbs.flatMap((lb) => this.backendAddresses([ep], flowKeys(lb)))),
    );
  }

  /** Each endpoint's addresses as backends of `frontends`, of the frontend's family. */
  private backendAddresses(
    eps: readonly Endpoint[],
    frontends: readonly FlowKey[],
  ): (FlowKey & { readonly backend: string })[] {
    return eps.flatMap((ep) =>
      frontends.flatMap((f) =>
        ep.addresses
          .filter((a) => a.family === (f.vip === undefined ? f.family : familyOfAddress(f.vip)))
          .map((a) => ({ ...f, backend: a.address })),
      ),
    );
  }

  /**
   * A VIP may be any unicast address but one of a container subnet, whose addresses belong to endpoints.
   */
  private checkVip(field: string, text: string): string {
    const ip = parseIp(field, text);
    const special = notUnicast(ip);
    if (special !== undefined)
      throw invalidArgument(field, `${ip.address} is ${special}; a VIP is a unicast address`);
    for (const net of this.store.networks.all())
      for (const s of net.subnets)
        if (contains(parsePrefix("subnet", s.prefix), ip))
          throw invalidArgument(field, `${ip.address} is in subnet ${s.prefix} of network "${net.name}"`);
    return ip.address;
  }

  /**
   * A SourceVIP is a VIP's kind of address, or this host's source address on an overlay network (a routed
   * overlay's gateway, which every other host routes back here), which is what Windows kube-proxy gives every
   * load balancer of a node in overlay mode. It SNATs the frontends of its own family only: one of another
   * family would do nothing.
   */
  private checkSourceVip(field: string, text: string, frontends: readonly Family[]): string {
    const ip = parseIp(field, text);
    if (!frontends.includes(ip.family))
      throw invalidArgument(
        field,
        `${ip.address} is IPv${String(ip.family)}, and the load balancer's frontends are ` +
          `${[...new Set(frontends)].map((f) => `IPv${String(f)}`).join(" and ")}: it would translate none`,
      );
    if (this.store.networks.all().some((n) => overlaySource(n) === ip.address)) return ip.address;
    return this.checkVip(field, text);
  }

  /** A NodePort is its protocol and port on every local address: no other may have it, of its family. */
  private checkNodePortsFree(lb: Omit<LoadBalancer, "createdAt">, spec: LoadBalancerSpec): void {
    const others = this.lbs.withoutVips().filter((o) => o.id !== lb.id && o.ipv6 === lb.ipv6);
    lb.portMappings.forEach((m, i) => {
      const field = spec.portMappings[i]?.externalPort.field ?? "portMappings";
      const taken = others.find((o) =>
        o.portMappings.some((p) => p.protocol === m.protocol && p.externalPort === m.externalPort),
      );
      if (taken !== undefined)
        throw conflict(
          `${field}: port ${m.externalPort}/${m.protocol} is a NodePort of "${taken.name}"`,
          field,
        );
      if (this.store.endpoints.conflictingPortMapping(m.protocol, m.externalPort, "") !== undefined)
        throw conflict(`${field}: port ${m.externalPort}/${m.protocol} is an endpoint's port mapping`, field);
    });
  }

  private checkFrontendFree(
    existing: readonly LoadBalancer[],
    field: string,
    vip: string,
    m: LbPortMapping,
  ): void {
    const taken = existing.find(
      (o) =>
        o.vips.includes(vip) &&
        o.portMappings.some((p) => p.protocol === m.protocol && p.externalPort === m.externalPort),
    );
    if (taken !== undefined)
      throw conflict(
        `${field}: ${vip}:${m.externalPort}/${m.protocol} is a frontend of "${taken.name}"`,
        field,
      );
    if (this.store.endpoints.conflictingPortMapping(m.protocol, m.externalPort, vip) !== undefined)
      throw conflict(
        `${field}: port ${m.externalPort}/${m.protocol} of ${vip} is an endpoint's port mapping`,
        field,
      );
  }

  private backend({ field, ref }: BackendSpec, frontends: readonly Family[], dsr: boolean): Endpoint {
    const ep = this.store.endpoints.find(ref);
    if (ep === undefined) throw new HostnetError("NotFound", `endpoint "${ref}" not found`, { field });
    const families = new Set(frontends);
    if (!ep.addresses.some((a) => families.has(a.family)))
      throw invalidArgument(field, `endpoint "${ep.name}" has no address of the VIPs' family`);
    // Connections to another host's backend leave from this host's source address, which is IPv4 only.
    if (ep.remoteHost !== null && families.has(6))
      throw invalidArgument(
        field,
        `endpoint "${ep.name}" is on another host (${ep.remoteHost}), reached from IPv4 VIPs only`,
      );
    if (dsr && ep.attachment?.kind !== "namespace")
      throw invalidArgument(
        field,
        `endpoint "${ep.name}" is not attached to a namespace hostnet knows, where a DSR backend carries the VIP`,
      );
    return ep;
  }

  /**
   * DSR forwards connections unchanged: no port translation, no SNAT, no affinity or ILB gate (the VIP is
   * routed, for everyone).
   */
  private checkDsr(spec: LoadBalancerSpec): void {
    if (spec.sourceVip !== undefined)
      throw invalidArgument(spec.sourceVip.field, "a DSR load balancer translates no address: no SourceVIP");
    if (spec.internal)
      throw invalidArgument(spec.dsr.field, "a DSR VIP is routed for everyone: it cannot be an ILB too");
    for (const m of spec.portMappings) {
      if (m.internalPort.value !== m.externalPort.value)
        throw invalidArgument(
          m.internalPort.field,
          "a DSR load balancer translates no port: InternalPort must be ExternalPort",
        );
      if (m.affinity.value)
        throw invalidArgument(m.affinity.field, "DSR spreads clients by route hash, without affinity");
    }
  }
}

/**
 * Refuses the first backend that takes a load balancer beyond its limits: limits.lbBackends backends (the
 * most a frontend draws among) and limits.lbElements nft elements of backends in all (one per VIP, port
 * mapping and backend address of the VIP's family).
 */
function checkSize(
  frontends: readonly Family[],
  portMappings: number,
  backends: readonly { readonly field: string; readonly ep: Endpoint }[],
): void {
  const vipsOf = {
    4: frontends.filter((f) => f === 4).length,
    6: frontends.filter((f) => f === 6).length,
  };
  let elements = 0;
  backends.forEach(({ field, ep }, i) => {
    if (i >= limits.lbBackends)
      throw invalidArgument(field, `a load balancer has at most ${String(limits.lbBackends)} backends`);
    elements += portMappings * ep.addresses.reduce((n, a) => n + vipsOf[a.family], 0);
    if (elements > limits.lbElements)
      throw invalidArgument(
        field,
        `a load balancer makes at most ${String(limits.lbElements)} nft elements (VIPs × port mappings × ` +
          `backends), and this backend takes it to ${String(elements)}`,
      );
  });
}

/**
 * The family of each of a load balancer's entries: each VIP's, or for a NodePort load balancer (no VIP) the
 * one its IPv6 flag says, as kube-proxy makes one per family.
 */
const frontendFamilies = (lb: Pick<LoadBalancer, "vips" | "ipv6">): Family[] =>
  lb.vips.length > 0 ? lb.vips.map(familyOfAddress) : [lb.ipv6 ? 6 : 4];

/**
 * A NodePort load balancer (no VIP) is reached at every local address of the host: what needs an address of
 * its own is refused.
 */
function checkNodePort(spec: LoadBalancerSpec): void {
  const why = "a load balancer without VIPs is a NodePort one, on every address of the host";
  if (spec.internal) throw invalidArgument("vips", `an ILB is reached at its VIP: give one (${why})`);
  if (spec.dsr.value) throw invalidArgument(spec.dsr.field, `DSR routes a VIP: give one (${why})`);
  for (const m of spec.portMappings)
    if (m.affinity.value)
      throw invalidArgument(m.affinity.field, `clients are remembered by the VIP they came to (${why})`);
}

/**
 * This host's own address on an overlay network, which other hosts route back here: a shared overlay's source
 * address, or a routed overlay's IPv4 gateway (remote-subnet-route.ts, backendSource).
 */
const overlaySource = (net: Network): string | undefined =>
  net.overlay === null
    ? undefined
    : (net.overlay.sourceAddress ?? net.subnets.find((s) => s.family === 4)?.gateway);

/** What the kernel keeps a load balancer's flows under: its VIPs, or a NodePort's UDP ports. */
const flowKeys = (lb: Pick<LoadBalancer, "vips" | "ipv6" | "portMappings">): FlowKey[] =>
  lb.vips.length > 0
    ? lb.vips.map((vip) => ({ vip }))
    : lb.portMappings
        .filter((m) => m.protocol === "udp")
        .map((m) => ({ nodePort: m.externalPort, family: lb.ipv6 ? 6 : 4 }));
