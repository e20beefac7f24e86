/**
 * The one service every front door calls. A write validates, allocates and records intent in one store
 * transaction, then converges the kernel for exactly what it touched; if the kernel refuses, the record
 * is removed and the kernel converged back, so nothing is left half-applied.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { conflict, HostnetError, invalidArgument, notFound } from "../errors.js";
import { aclCounterKey, NETNS_DIR, type Owner } from "../dataplane/naming.js";
import { overlayBridgeMac } from "../model/overlay.js";
import { describe } from "../dataplane/objects.js";
import type { Counter } from "../dataplane/counters.js";
import type { Op } from "../dataplane/plan.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { allocateAddress } from "../ipam/ipam.js";
import {
  cidrOf,
  contains,
  type Family,
  hostRange,
  ipFromValue,
  overlaps,
  parseIp,
  parsePrefix,
  type Prefix,
} from "../model/ip.js";
import {
  familyOfAddress,
  singletonPolicies,
  type EndpointPolicy,
  type NetworkPolicy,
  type RemoteSubnetRoutePolicy,
} from "../model/policy.js";
import {
  networkTypes,
  type Endpoint,
  type LoadBalancer,
  type Namespace,
  type NamespaceAttachment,
  type Network,
  type NetworkType,
  type OverlaySettings,
  type Origin,
  type Protocol,
  type UplinkSnapshot,
} from "../model/types.js";
import type { UplinkHost } from "../dataplane/uplink.js";
import type { DhcpLeases } from "./leases.js";
import { convergeOrUndo } from "./converge.js";
import type { LoadBalancerStore } from "../store/load-balancers.js";
import { LoadBalancerService } from "./load-balancers.js";
import { aclObjects, checkAclTiers } from "../modes/acl.js";
import { modes } from "../modes/index.js";
import { VXLAN_OVERHEAD } from "../modes/overlay.js";
import { subnetFields, type OverlayRegistry } from "../cluster/registry.js";
import type { OverlayAddresses } from "./overlay-addresses.js";
import type { Store } from "../store/store.js";
import { freshId, type HostPrefixes, type HostSide } from "./context.js";
import type {
  AttachSpec,
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest,
  PolicySpec,
  PortMappingSpec,
  SubnetSpec,
} from "./specs.js";
import { checkIfname, checkMac, checkMtu, checkName, checkPort, MIN_MTU } from "./validate.js";

export type {
  AttachSpec,
  EndpointSpec,
  NamespaceSpec,
  NetworkSpec,
  PolicyRequest,
  PolicySpec,
  PortMappingSpec,
  SubnetSpec,
} from "./specs.js";
export type { HostPrefixes, HostSide } from "./context.js";

/** One operation of a plan as a door shows it: what would be done, to what kind of object, which one. */
export interface PlannedOperation {
  readonly action: Op["action"];
  readonly kind: Op["object"]["kind"];
  readonly description: string;
}

const DEFAULT_MTU = 1500;
/** IANA's VXLAN port. */
const DEFAULT_VXLAN_PORT = 4789;
const DEFAULT_IFNAME = "eth0";
/** Where subnets come from when none is given. */
const DEFAULT_POOLS = {
  4: { pool: "172.16.0.0/12", length: 16 },
  6: { pool: "fd68:6f73:746e::/48", length: 64 },
} as const;

export class HostnetService {
  private readonly hostPrefixes: HostPrefixes;
  private readonly uplinks: UplinkHost;
  private readonly leases: DhcpLeases;
  /** Load balancers over this service's endpoints. */
  readonly loadBalancers: LoadBalancerService;
  private readonly lbStore: LoadBalancerStore;
  private readonly overlay: OverlayRegistry | undefined;
  private readonly overlayAddresses: OverlayAddresses | undefined;
  private readonly hostAddress: string | undefined;
  private readonly interfaceMtu: (address: string) => Promise<number | undefined>;
  private readonly host: Pick<HostSide, "interfaceAddresses">;

  constructor(
    private readonly store: Store,
    private readonly reconciler: Reconciler,
    host: HostSide,
  ) {
    this.hostPrefixes = host.prefixes;
    this.uplinks = host.uplinks;
    this.leases = host.leases;
    this.loadBalancers = new LoadBalancerService(store, reconciler, host.forgetBackend);
    this.lbStore = store.loadBalancers;
    this.overlay = host.overlay?.registry;
    this.overlayAddresses = host.overlay?.addresses;
    this.hostAddress = host.hostAddress;
    this.interfaceMtu = host.interfaceMtu;
    this.host = host;
  }

  // Networks

  networks(): Network[] {
    return this.store.networks();
  }

  /** The network with this id or name, if there is one. */
  findNetwork(ref: string): Network | undefined {
    return this.store.network(ref);
  }

  network(ref: string): Network {
    const net = this.store.network(ref);
    if (net === undefined) throw notFound("network", ref);
    return net;
  }

  async createNetwork(spec: NetworkSpec): Promise<Network> {
    const name = checkName("Name", spec.name);
    const type = networkTypes.find((t) => t.toLowerCase() === spec.type.toLowerCase());
    if (type === undefined)
      throw invalidArgument(
        "Type",
        `network type "${spec.type}" is not supported (supported: ${networkTypes.join(", ")})`,
      );
    const given = spec.subnets.map(parseSubnet);
    const families = new Set<number>();
    for (const [i, s] of given.entries()) {
      const field = spec.subnets[i]?.prefixField ?? "Ipams";
      if (!modes[type].families.includes(s.prefix.family))
        throw invalidArgument(field, `${type} networks have no IPv${s.prefix.family} subnets`);
      if (families.has(s.prefix.family))
        throw invalidArgument(field, `a network has at most one IPv${s.prefix.family} subnet`);
      families.add(s.prefix.family);
    }
    if (spec.ipam?.value === "dhcp" && !modes[type].dhcp)
      throw invalidArgument(spec.ipam.field, `${type} networks have no DHCP server to lease addresses from`);
    const overlay = type === "Overlay" ? this.overlaySettings(spec, given.length) : null;
    if (overlay === null) refuseOverlayPolicies(type, spec.overlay);
    const overhead = spec.overlay?.overhead;
    if (overhead !== undefined && (!Number.isInteger(overhead.value) || overhead.value < 0))
      throw invalidArgument(overhead.field, "must be a whole number of bytes, 0 or more");
    const overlayMtu =
      overlay === null || spec.mtu !== undefined ? undefined : await this.overlayMtu(overlay, overhead);
    const uplink = await this.takeUplink(type, spec.adapter);
    const mtu =
      spec.mtu !== undefined ? checkMtu("Mtu", spec.mtu) : (uplink?.mtu ?? overlayMtu ?? DEFAULT_MTU);
    const subnets =
      given.length > 0 ? given : [uplink === undefined ? await this.pickDefaultSubnet() : lanSubnet(uplink)];
    const shape = { name, type, overlay, subnets: subnets.map((s) => ({ prefix: cidrOf(s.prefix) })) };
    const specs = spec.policies ?? [];
    const policies = this.checkPolicies(specs, shape);
    checkAclTiers([], policies);
    const id = this.store.write(() => {
      if (this.store.network(name) !== undefined) throw conflict(`network "${name}" already exists`, "Name");
      if (spec.origin !== undefined && this.store.networkIdByOrigin(spec.origin) !== undefined)
        throw conflict(`${spec.origin.kind} network ${spec.origin.key} already exists`);
      if (spec.adapter !== undefined) this.checkUplinkFree(spec.adapter);
      for (const [i, s] of subnets.entries())
        for (const other of this.store.networks())
          for (const o of [...other.subnets.map((o) => o.prefix), ...remoteSubnets(other.policies)])
            if (overlaps(s.prefix, parsePrefix("subnet", o)))
              throw conflict(
                `${spec.subnets[i]?.prefixField ?? "subnet"}: ${cidrOf(s.prefix)} overlaps ${o} of network "${other.name}"`,
                spec.subnets[i]?.prefixField,
              );
      this.checkRemoteSubnets(specs, policies, { ...shape, id: undefined });
      const [netId, shortId] = freshId((s) => this.store.networkShortIdTaken(s));
      this.store.insertNetwork({
        id: netId,
        name,
        type,
        shortId,
        mtu,
        interContainer: spec.interContainer ?? true,
        policies,
        subnets: subnets.map((s) => ({
          family: s.prefix.family,
          prefix: cidrOf(s.prefix),
          gateway: s.gateway,
        })),
        adapter: uplink?.dev ?? null,
        uplink: uplink ?? null,
        ipam: spec.ipam?.value ?? "static",
        overlay,
      });
      if (spec.origin !== undefined) this.store.insertNetworkOrigin(netId, spec.origin);
      return netId;
    });
    try {
      await this.convergeOrUndo([`net:${id}`, "global"], () => this.store.deleteNetwork(id));
    } catch (err) {
      if (uplink !== undefined) await this.uplinks.restore(uplink).catch(() => undefined);
      throw err;
    }
    const created = this.network(id);
    const addresses = this.overlayAddresses;
    if (this.overlay !== undefined && addresses !== undefined && created.overlay !== null) {
      if (spec.fromCluster !== true)
        await this.defineOverlayNetwork(created, this.overlay, spec.overlay?.overhead?.value);
      await addresses.reserveAhead(created);
      await addresses.claimSource(created).catch(async (err: unknown) => {
        await this.deleteNetwork(id, { hostOnly: true });
        throw err;
      });
    }
    return this.network(id);
  }

  /** Writes a new overlay network to the cluster, or deletes it here again when the cluster refuses it. */
  private async defineOverlayNetwork(
    net: Network,
    registry: OverlayRegistry,
    encapOverhead: number | undefined,
  ): Promise<void> {
    let defined: boolean;
    try {
      defined = await registry.defineNetwork({
        name: net.name,
        ...subnetFields(net.subnets),
        vni: net.overlay?.vni ?? 0,
        vxlanPort: net.overlay?.vxlanPort ?? DEFAULT_VXLAN_PORT,
        ...(encapOverhead === undefined ? {} : { encapOverhead }),
      });
    } catch (err) {
      await this.deleteNetwork(net.id, { hostOnly: true });
      throw new HostnetError(
        "Unavailable",
        `the cluster's etcd cannot define the network: ${String(err)}`,
        {},
        {
          cause: err,
        },
      );
    }
    if (!defined) {
      await this.deleteNetwork(net.id, { hostOnly: true });
      throw conflict(`overlay network "${net.name}" is defined otherwise in the cluster`, "Name");
    }
  }

  /**
   * An overlay network's VXLAN, checked: it needs this host's underlay address, a VNI and its subnets (an
   * IPv4 one, an IPv6 one, or both: createNetwork allows one per family).
   */
  private overlaySettings(spec: NetworkSpec, subnets: number): OverlaySettings {
    if (this.hostAddress === undefined)
      throw invalidArgument(
        "Type",
        "Overlay networks need hostnetd --host-address (and --etcd to span hosts)",
      );
    const vni = spec.overlay?.vni;
    if (vni === undefined)
      throw invalidArgument(
        "Policies",
        "an Overlay network needs a VSID policy (its VXLAN network identifier)",
      );
    if (vni.value < 1 || vni.value > 16777215) throw invalidArgument(vni.field, "must be from 1 to 16777215");
    const port = spec.overlay?.port;
    if (port !== undefined) checkPort(port.field, port.value);
    if (subnets === 0)
      throw invalidArgument(
        "Ipams",
        this.overlay === undefined
          ? "an Overlay network needs its subnets: this host's part of the overlay"
          : "an Overlay network needs its subnets, the same on every host",
      );
    return {
      vni: vni.value,
      vxlanPort: port?.value ?? DEFAULT_VXLAN_PORT,
      localAddress: this.hostAddress,
      sourceAddress: null,
    };
  }

  /**
   * The MTU an overlay network's packets fit in once encapsulated: that of this host's interface on the
   * underlay, less the encapsulation's overhead (50 bytes unless an EncapOverhead policy says otherwise).
   * Each host computes its own, so a network from the cluster fits this host's underlay too.
   */
  private async overlayMtu(
    overlay: OverlaySettings,
    overhead: { readonly value: number; readonly field: string } | undefined,
  ): Promise<number> {
    const underlay = await this.interfaceMtu(overlay.localAddress);
    if (underlay === undefined)
      throw new HostnetError(
        "Unavailable",
        `no interface of this host has the underlay address ${overlay.localAddress} (hostnetd --host-address)`,
      );
    const mtu = underlay - (overhead?.value ?? VXLAN_OVERHEAD);
    if (mtu < MIN_MTU)
      throw invalidArgument(
        overhead?.field ?? "Mtu",
        `the underlay's MTU ${underlay} less the overhead leaves ${mtu}, below ${MIN_MTU}`,
      );
    return mtu;
  }

  /** The uplink a network of `type` takes, checked and as it is now; none for types without one. */
  private async takeUplink(
    type: NetworkType,
    adapter: NetworkSpec["adapter"],
  ): Promise<UplinkSnapshot | undefined> {
    if (!modes[type].uplink) {
      if (adapter !== undefined) throw invalidArgument(adapter.field, `${type} networks take no uplink NIC`);
      return undefined;
    }
    if (adapter === undefined)
      throw invalidArgument(
        "Policies",
        `a ${type} network needs its uplink NIC: a NetAdapterName policy (--adapter IF)`,
      );
    this.checkUplinkFree(adapter);
    const inspected = await this.uplinks.inspect(adapter.name);
    if (!inspected.usable) throw invalidArgument(adapter.field, inspected.why);
    return inspected.snapshot;
  }

  /** Refuses an uplink another network holds: a NIC is a port of one bridge at most. */
  private checkUplinkFree(adapter: { readonly name: string; readonly field: string }): void {
    const holder = this.store.networks().find((n) => n.adapter === adapter.name);
    if (holder !== undefined)
      throw conflict(
        `${adapter.field}: ${adapter.name} is the uplink of network "${holder.name}"`,
        adapter.field,
      );
  }

  /**
   * Gives uplinks back what they had where a network was deleted but hostnetd stopped before it could;
   * runs after the start-up converge has removed their bridges.
   */
  async restoreUplinks(): Promise<void> {
    for (const snapshot of this.store.uplinkRestores()) {
      await this.uplinks.restore(snapshot);
      this.store.write(() => this.store.deleteUplinkRestore(snapshot.dev));
    }
  }

  /** The network a client made under its own key, if there is one. */
  networkByOrigin(origin: Origin): Network | undefined {
    const id = this.store.networkIdByOrigin(origin);
    return id === undefined ? undefined : this.store.network(id);
  }

  /**
   * Deletes a network. A shared overlay network is deleted from the whole cluster, once no other host has
   * endpoints on it; `hostOnly` deletes it here only (the cluster has done so already, or never had it).
   */
  async deleteNetwork(ref: string, opts: { force?: boolean; hostOnly?: boolean } = {}): Promise<void> {
    const net = this.network(ref);
    const endpoints = this.store.endpoints({ networkId: net.id });
    const local = endpoints.filter((ep) => ep.remoteHost === null).length;
    if (local > 0 && opts.force !== true)
      throw conflict(
        `network "${net.name}" has ${local} endpoint(s); remove them first or delete with force`,
      );
    if (this.overlay !== undefined && net.overlay !== null && opts.hostOnly !== true)
      await this.undefineOverlayNetwork(net, endpoints, this.overlay);
    const blocks = this.store.overlayBlocks(net.id);
    for (const ep of endpoints) this.leases.stop(ep.id);
    const balancers = endpoints.map((ep) => this.balancersOf(ep));
    this.store.write(() => {
      for (const ep of endpoints) this.store.deleteEndpoint(ep.id);
      this.store.deleteNetwork(net.id);
      if (net.uplink !== null) this.store.insertUplinkRestore(net.uplink);
    });
    await this.reconciler.converge([
      ...endpoints.map((ep) => `ep:${ep.id}` as const),
      `net:${net.id}`,
      ...new Set(balancers.flat().map((lb) => `lb:${lb.id}` as const)),
    ]);
    for (const [i, ep] of endpoints.entries()) await this.loadBalancers.forget(balancers[i] ?? [], ep);
    if (net.uplink !== null) await this.restoreUplinks();
    await this.releaseOverlayAddresses(net, endpoints);
    await this.overlayAddresses?.releaseNetwork(net, blocks);
  }

  /** Deletes a shared overlay network from the cluster, unless another host has endpoints on it. */
  private async undefineOverlayNetwork(
    net: Network,
    endpoints: readonly Endpoint[],
    registry: OverlayRegistry,
  ): Promise<void> {
    // Other hosts' source addresses are no endpoints of theirs: they go with the network.
    const elsewhere = endpoints.filter(
      (ep) => ep.remoteHost !== null && ep.mac !== overlayBridgeMac(ep.remoteHost),
    );
    if (elsewhere.length > 0)
      throw conflict(
        `network "${net.name}" has ${elsewhere.length} endpoint(s) on other hosts (${[...new Set(elsewhere.map((ep) => ep.remoteHost))].join(", ")}); remove them there first`,
      );
    try {
      await registry.undefineNetwork(net.name);
    } catch (err) {
      throw new HostnetError(
        "Unavailable",
        `the cluster's etcd cannot delete the network: ${String(err)}`,
        {},
        {
          cause: err,
        },
      );
    }
  }

  private async pickDefaultSubnet(): Promise<ParsedSubnet> {
    const prefix = await this.freeSubnet(4, [], "Ipams");
    return { prefix, gateway: ipFromValue(4, hostRange(prefix).first) };
  }

  /**
   * The first /16 of 172.16.0.0/12, or /64 of hostnet's IPv6 ULA /48, that no network, address or route
   * of this host touches, nor any of `alsoTaken`.
   */
  async freeSubnet(family: Family, alsoTaken: readonly Prefix[], field: string): Promise<Prefix> {
    const taken = [
      ...alsoTaken,
      ...(await this.hostPrefixes()),
      ...this.store.networks().flatMap((n) => n.subnets.map((s) => parsePrefix("subnet", s.prefix))),
    ];
    const { pool, length } = DEFAULT_POOLS[family];
    const range = parsePrefix("pool", pool);
    for (let v = range.first; v <= range.last; v += 1n << BigInt((family === 4 ? 32 : 128) - length)) {
      const prefix = parsePrefix("subnet", `${ipFromValue(family, v)}/${length}`);
      if (!taken.some((t) => overlaps(t, prefix))) return prefix;
    }
    throw new HostnetError("Conflict", `no free /${length} left in ${pool}; give a subnet`, { field });
  }

  // Namespaces

  namespaces(): Namespace[] {
    return this.store.namespaces();
  }

  /** The namespace with this id, name or path, if there is one. */
  findNamespace(ref: string): Namespace | undefined {
    return this.store.namespace(ref);
  }

  namespace(ref: string): Namespace {
    const ns = this.store.namespace(ref);
    if (ns === undefined) throw notFound("namespace", ref);
    return ns;
  }

  async createNamespace(spec: NamespaceSpec): Promise<Namespace> {
    const name = checkName("Name", spec.name);
    const owned = spec.path === undefined;
    const path = spec.path ?? `${NETNS_DIR}/${name}`;
    if (!owned && !existsSync(path)) throw invalidArgument("Path", `${path} does not exist`);
    if (owned && existsSync(path))
      throw conflict(`${path} already exists; adopt it by giving its Path instead`, "Name");
    const id = randomUUID();
    this.store.write(() => {
      if (this.store.namespace(name) !== undefined)
        throw conflict(`namespace "${name}" already exists`, "Name");
      if (this.store.namespace(path) !== undefined)
        throw conflict(`namespace path ${path} is already known`, "Path");
      this.store.insertNamespace({ id, name, path, owned });
    });
    await this.convergeOrUndo([`ns:${id}`], () => this.store.deleteNamespace(id));
    return this.namespace(id);
  }

  /** Detaches every endpoint in the namespace, then forgets it (and deletes it if hostnet made it). */
  async deleteNamespace(ref: string): Promise<void> {
    const ns = this.namespace(ref);
    const attached = this.store.endpoints({ namespaceId: ns.id });
    for (const ep of attached) this.leases.stop(ep.id);
    this.store.write(() => {
      for (const ep of attached) this.store.setAttachment(ep.id, null);
      this.store.deleteNamespace(ns.id);
    });
    await this.reconciler.converge([...attached.map((ep) => `ep:${ep.id}` as const), `ns:${ns.id}`]);
  }

  // Endpoints

  endpoints(filter: { network?: string; namespace?: string } = {}): Endpoint[] {
    return this.store.endpoints({
      ...(filter.network === undefined ? {} : { networkId: this.network(filter.network).id }),
      ...(filter.namespace === undefined ? {} : { namespaceId: this.namespace(filter.namespace).id }),
    });
  }

  /** The endpoint with this id or name, if there is one. */
  findEndpoint(ref: string): Endpoint | undefined {
    return this.store.endpoint(ref);
  }

  endpoint(ref: string): Endpoint {
    const ep = this.store.endpoint(ref);
    if (ep === undefined) throw notFound("endpoint", ref);
    return ep;
  }

  /** The endpoint a client made under its own key, if there is one. */
  endpointByOrigin(origin: Origin): Endpoint | undefined {
    const id = this.store.endpointIdByOrigin(origin);
    return id === undefined ? undefined : this.store.endpoint(id);
  }

  /** Every endpoint one client made, with the client's key for it. */
  endpointsByOrigin(kind: Origin["kind"]): { endpoint: Endpoint; key: string }[] {
    return this.store.origins(kind).flatMap(({ endpointId, key }) => {
      const endpoint = this.store.endpoint(endpointId);
      return endpoint === undefined ? [] : [{ endpoint, key }];
    });
  }

  async createEndpoint(spec: EndpointSpec): Promise<Endpoint> {
    const name = checkName("Name", spec.name);
    const net = this.store.network(spec.network);
    if (net === undefined)
      throw new HostnetError("NotFound", `network "${spec.network}" not found`, {
        field: "HostComputeNetwork",
      });
    const mac = spec.mac === undefined ? randomMac() : checkMac("MacAddress", spec.mac);
    const requested = new Map<number, { field: string; address: string }>();
    for (const ip of spec.ips) {
      const parsed = parseIp(ip.field, ip.address);
      if (net.ipam === "dhcp" && parsed.family === 4)
        throw invalidArgument(
          ip.field,
          `IPv4 addresses of network "${net.name}" come from the LAN's DHCP server`,
        );
      const subnet = net.subnets.find((s) => contains(parsePrefix("subnet", s.prefix), parsed));
      if (subnet === undefined)
        throw invalidArgument(ip.field, `${parsed.address} is in no subnet of network "${net.name}"`);
      if (requested.has(subnet.id))
        throw invalidArgument(ip.field, `a second address in subnet ${subnet.prefix}`);
      requested.set(subnet.id, { field: ip.field, address: parsed.address });
    }
    const mappings = this.checkPortMappings(spec.portMappings, net);
    const attach = spec.attach === undefined ? undefined : this.resolveAttach(spec.attach);
    const addresses = net.overlay === null ? undefined : this.overlayAddresses;
    if (
      addresses !== undefined &&
      net.subnets.some((s) => !requested.has(s.id) && !addresses.hasFree(net, s))
    )
      await addresses.reserveAhead(net);
    const preferred = new Map(net.subnets.map((s) => [s.id, addresses?.blocks(net, s) ?? []]));
    // Addresses other hosts of the overlay hold, learnt from refused claims.
    const elsewhere = new Set<string>();
    for (;;) {
      const id = this.insertEndpoint(spec, name, net, mac, requested, mappings, attach, elsewhere, preferred);
      let taken: { address: string; holder: string } | undefined;
      try {
        const ep = this.endpoint(id);
        taken = await addresses?.claim(
          net,
          ep.addresses.map((a) => a.address),
          ep.mac,
        );
      } catch (err) {
        this.store.write(() => this.store.deleteEndpoint(id));
        throw new HostnetError(
          "Unavailable",
          `the cluster's etcd is unreachable and the address is not of this host's reserved blocks: ${String(err)}`,
          {},
          { cause: err },
        );
      }
      if (taken === undefined) {
        await this.convergeOrUndo([`ep:${id}`], () => this.store.deleteEndpoint(id));
        const created = this.endpoint(id);
        this.leases.start(created);
        if (addresses !== undefined) void addresses.reserveAhead(net);
        return created;
      }
      this.store.write(() => this.store.deleteEndpoint(id));
      const asked = [...requested.values()].find((r) => r.address === taken.address);
      if (asked !== undefined)
        throw conflict(`${asked.field}: ${taken.address} is in use on host ${taken.holder}`, asked.field);
      elsewhere.add(taken.address);
    }
  }

  private insertEndpoint(
    spec: EndpointSpec,
    name: string,
    net: Network,
    mac: string,
    requested: ReadonlyMap<number, { field: string; address: string }>,
    mappings: readonly PortMappingSpec[],
    attach: NamespaceAttachment | undefined,
    elsewhere: ReadonlySet<string>,
    preferred: ReadonlyMap<number, readonly Prefix[]>,
  ): string {
    return this.store.write(() => {
      if (this.store.endpoint(name) !== undefined)
        throw conflict(`endpoint "${name}" already exists`, "Name");
      if (spec.origin !== undefined && this.store.endpointIdByOrigin(spec.origin) !== undefined)
        throw conflict(`${spec.origin.kind} ${spec.origin.key} already has an endpoint`);
      if (attach !== undefined) this.checkAttachFree(attach);
      const [epId, shortId] = freshId((s) => this.store.endpointShortIdTaken(s));
      this.store.insertEndpoint({
        id: epId,
        name,
        networkId: net.id,
        shortId,
        mac,
        attachment: attach ?? null,
        remoteHost: null,
      });
      const hostAddresses = new Set([
        ...(net.uplink?.addresses.map((cidr) => parseIp("host", cidr.split("/")[0] ?? "").address) ?? []),
        ...elsewhere,
        ...(net.overlay?.sourceAddress == null ? [] : [net.overlay.sourceAddress]),
      ]);
      for (const subnet of net.subnets.filter((s) => net.ipam !== "dhcp" || s.family !== 4))
        allocateAddress(
          this.store,
          subnet,
          epId,
          requested.get(subnet.id),
          hostAddresses,
          preferred.get(subnet.id),
        );
      this.insertPortMappings(epId, mappings);
      const policies = this.checkPolicies(spec.policies, net);
      checkAclTiers(policies, net.policies);
      this.store.setPolicies(epId, policies);
      if (spec.origin !== undefined) this.store.insertOrigin(epId, spec.origin);
      return epId;
    });
  }

  /** Changes an endpoint's policies in one step: all of the change reaches the kernel, or none of it. */
  async modifyPolicies(ref: string, request: PolicyRequest): Promise<Endpoint> {
    const ep = this.endpoint(ref);
    const before = ep.policies;
    const after = modifiedPolicies(
      before,
      request,
      this.checkPolicies(request.policies, this.network(ep.networkId)),
    );
    checkAclTiers(after, this.network(ep.networkId).policies);
    this.store.write(() => this.store.setPolicies(ep.id, after));
    await this.convergeOrUndo([`ep:${ep.id}`], () => this.store.setPolicies(ep.id, before));
    return this.endpoint(ep.id);
  }

  /**
   * Changes the policies every endpoint of a network gets besides its own, in one step over all of them:
   * the whole change reaches the kernel, or none of it.
   */
  async modifyNetworkPolicies(ref: string, request: PolicyRequest<NetworkPolicy>): Promise<Network> {
    const net = this.network(ref);
    const before = net.policies;
    const after = modifiedPolicies(before, request, this.checkPolicies(request.policies, net));
    const endpoints = this.store.endpoints({ networkId: net.id });
    checkAclTiers([], after);
    for (const ep of endpoints) checkAclTiers(ep.policies, after);
    const scope: Owner[] = [`net:${net.id}`, ...endpoints.map((e) => `ep:${e.id}` as const)];
    this.store.write(() => {
      if (request.requestType !== "Remove") this.checkRemoteSubnets(request.policies, after, net);
      this.store.setNetworkPolicies(net.id, after);
    });
    await this.convergeOrUndo(scope, () => this.store.setNetworkPolicies(net.id, before));
    return this.network(net.id);
  }

  /** The endpoint's policies, each ACL with the packets and bytes its rules matched so far. */
  async policyCounters(ref: string): Promise<{ policy: EndpointPolicy; counter: Counter | null }[]> {
    const ep = this.endpoint(ref);
    const elements = aclObjects(ep, this.network(ep.networkId)).flatMap((o) =>
      o.kind === "nftElement" && o.label !== undefined ? [o] : [],
    );
    const totals = await this.reconciler.elementCounters([...new Set(elements.map((o) => o.set))]);
    return ep.policies.map((policy, i) => ({
      policy,
      counter:
        policy.type === "ACL" ? (totals.get(aclCounterKey(ep.id, i)) ?? { packets: 0, bytes: 0 }) : null,
    }));
  }

  async deleteEndpoint(ref: string): Promise<void> {
    const ep = this.endpoint(ref);
    this.leases.stop(ep.id);
    const balancers = this.balancersOf(ep);
    this.store.write(() => this.store.deleteEndpoint(ep.id));
    await this.reconciler.converge([`ep:${ep.id}`, ...balancers.map((lb) => `lb:${lb.id}` as const)]);
    await this.loadBalancers.forget(balancers, ep);
    await this.releaseOverlayAddresses(this.network(ep.networkId), [ep]);
  }

  /**
   * Takes one address from another host's endpoint, which keeps its others (a dual-stack endpoint whose
   * IPv6 address went, say): its FDB entries stay, the neighbour entry of that address goes.
   */
  async deleteEndpointAddress(ref: string, address: string): Promise<void> {
    const ep = this.endpoint(ref);
    const gone = ep.addresses.find((a) => a.address === address);
    if (gone === undefined) return;
    const balancers = this.balancersOf(ep);
    this.store.write(() => this.store.setLeasedAddress(ep.id, gone.subnetId, null));
    await this.reconciler.converge([`ep:${ep.id}`, ...balancers.map((lb) => `lb:${lb.id}` as const)]);
    await this.loadBalancers.forget(balancers, { ...ep, addresses: [gone] });
  }

  /** Gives this host's endpoints' overlay addresses back to the cluster. */
  private async releaseOverlayAddresses(net: Network, endpoints: readonly Endpoint[]): Promise<void> {
    if (this.overlay === undefined || net.overlay === null) return;
    for (const ep of endpoints)
      if (ep.remoteHost === null)
        for (const a of ep.addresses) await this.overlay.release(net.name, a.address);
  }

  async attachEndpoint(ref: string, spec: AttachSpec): Promise<Endpoint> {
    const ep = this.endpoint(ref);
    const attach = this.resolveAttach(spec);
    if (ep.attachment !== null) {
      if (
        ep.attachment.kind === "namespace" &&
        ep.attachment.namespaceId === attach.namespaceId &&
        ep.attachment.ifname === attach.ifname
      )
        return ep;
      throw conflict(`endpoint "${ep.name}" is already attached; detach it first`);
    }
    this.store.write(() => {
      this.checkAttachFree(attach);
      this.store.setAttachment(ep.id, attach);
    });
    await this.convergeOrUndo([`ep:${ep.id}`], () => this.store.setAttachment(ep.id, null));
    const attached = this.endpoint(ep.id);
    this.leases.start(attached);
    return attached;
  }

  /**
   * Creates the endpoint's veth with its container end left in hostnetd's namespace, for a runtime that
   * moves it into `sandbox` and configures it itself (Docker's Join).
   */
  async handOffEndpoint(ref: string, sandbox: string): Promise<Endpoint> {
    const ep = this.endpoint(ref);
    if (this.network(ep.networkId).ipam === "dhcp")
      throw invalidArgument(
        "SandboxKey",
        "a runtime that configures addresses itself cannot take a DHCP lease's",
      );
    if (ep.attachment !== null) {
      if (ep.attachment.kind === "handoff" && ep.attachment.sandbox === sandbox) return ep;
      throw conflict(`endpoint "${ep.name}" is already attached; detach it first`);
    }
    this.store.write(() => this.store.setAttachment(ep.id, { kind: "handoff", sandbox }));
    await this.convergeOrUndo([`ep:${ep.id}`], () => this.store.setAttachment(ep.id, null));
    return this.endpoint(ep.id);
  }

  /** Replaces an endpoint's port mappings in one step: all of them reach the kernel, or none. */
  async setPortMappings(ref: string, specs: readonly PortMappingSpec[]): Promise<Endpoint> {
    const ep = this.endpoint(ref);
    const mappings = this.checkPortMappings(specs, this.network(ep.networkId));
    this.store.write(() => {
      this.store.deletePortMappings(ep.id);
      this.insertPortMappings(ep.id, mappings);
    });
    await this.convergeOrUndo([`ep:${ep.id}`], () => {
      this.store.deletePortMappings(ep.id);
      for (const m of ep.portMappings) this.store.insertPortMapping(ep.id, m);
    });
    return this.endpoint(ep.id);
  }

  /** Whether an endpoint other than `exceptEndpoint` has the host port on `hostIp` (every address if undefined). */
  hostPortTaken(
    protocol: Protocol,
    hostPort: number,
    hostIp: string | undefined,
    exceptEndpoint: string,
  ): boolean {
    return this.store.conflictingPortMapping(protocol, hostPort, hostIp ?? "", exceptEndpoint) !== undefined;
  }

  async detachEndpoint(ref: string): Promise<Endpoint> {
    const ep = this.endpoint(ref);
    if (ep.attachment === null) return ep;
    this.leases.stop(ep.id);
    this.store.write(() => this.store.setAttachment(ep.id, null));
    await this.reconciler.converge([`ep:${ep.id}`]);
    return this.endpoint(ep.id);
  }

  // What the doors ask of the kernel, answered here so that no door reaches into the dataplane.

  /** What a full converge would do now, each operation described for people (`GET /plan`). */
  async plan(): Promise<PlannedOperation[]> {
    const { ops } = await this.reconciler.preview();
    return ops.map((op) => ({ action: op.action, kind: op.object.kind, description: describe(op.object) }));
  }

  /** The addresses (CIDRs) of an interface in a namespace; undefined when it does not exist (CNI CHECK). */
  interfaceAddresses(netns: string, ifname: string): Promise<string[] | undefined> {
    return this.host.interfaceAddresses(netns, ifname);
  }

  /** Creates the default NAT network once, on the first start of a fresh state directory. */
  async ensureDefaultNetwork(name: string): Promise<void> {
    if (this.store.meta("default-network") !== undefined) return;
    if (this.store.network(name) === undefined) await this.createNetwork({ name, type: "NAT", subnets: [] });
    this.store.setMeta("default-network", name);
  }

  /** Records mappings inside a store transaction, refusing a host port another endpoint has. */
  private insertPortMappings(endpointId: string, mappings: readonly PortMappingSpec[]): void {
    for (const m of mappings) {
      const clash = this.store.conflictingPortMapping(m.protocol, m.hostPort, m.hostIp ?? "");
      if (clash !== undefined)
        throw conflict(
          `${m.field}: host port ${m.hostIp ?? "*"}:${m.hostPort}/${m.protocol} is already mapped`,
          m.field,
        );
      this.store.insertPortMapping(endpointId, { ...m, hostIp: m.hostIp ?? null });
    }
  }

  private resolveAttach(spec: AttachSpec): NamespaceAttachment {
    const ns = this.store.namespace(spec.namespace);
    if (ns === undefined)
      throw new HostnetError("NotFound", `namespace "${spec.namespace}" not found`, {
        field: "HostComputeNamespace",
      });
    return {
      kind: "namespace",
      namespaceId: ns.id,
      ifname: checkIfname("InterfaceName", spec.ifname ?? DEFAULT_IFNAME),
    };
  }

  private checkAttachFree(attach: { namespaceId: string; ifname: string }): void {
    const holder = this.store.endpointAt(attach.namespaceId, attach.ifname);
    if (holder !== undefined)
      throw conflict(
        `interface ${attach.ifname} in that namespace is endpoint "${holder.name}"`,
        "InterfaceName",
      );
  }

  private checkPortMappings(specs: readonly PortMappingSpec[], net: Network): PortMappingSpec[] {
    if (specs.length > 0 && !modes[net.type].portMappings)
      throw invalidArgument(
        specs[0]?.field ?? "Policies",
        `${net.type} networks do not support port mappings`,
      );
    const seen: { protocol: Protocol; hostPort: number; hostIp: string | undefined }[] = [];
    return specs.map((m) => {
      checkPort(`${m.field}.ExternalPort`, m.hostPort);
      checkPort(`${m.field}.InternalPort`, m.internalPort);
      const hostIp = boundAddress(m);
      // ::1 is relayed in userland and reaches an IPv4-only endpoint too; any other bound address needs a
      // subnet of its family to DNAT to.
      if (
        hostIp !== undefined &&
        hostIp !== "::1" &&
        !net.subnets.some((s) => s.family === familyOfAddress(hostIp))
      )
        throw invalidArgument(`${m.field}.VIP`, `network "${net.name}" has no subnet of ${hostIp}'s family`);
      const twice = seen.some(
        (o) =>
          o.protocol === m.protocol &&
          o.hostPort === m.hostPort &&
          (o.hostIp === undefined || hostIp === undefined || o.hostIp === hostIp),
      );
      if (twice) throw conflict(`${m.field}: host port ${m.hostPort}/${m.protocol} is mapped twice`, m.field);
      seen.push({ protocol: m.protocol, hostPort: m.hostPort, hostIp });
      const base = {
        field: m.field,
        protocol: m.protocol,
        hostPort: m.hostPort,
        internalPort: m.internalPort,
      };
      return hostIp === undefined ? base : { ...base, hostIp };
    });
  }

  /**
   * Checks what a single policy cannot tell: at most one policy of some types, and an SDNRoute's next hop
   * on one of the network's subnets.
   */
  private checkPolicies<P extends NetworkPolicy>(
    specs: readonly PolicySpec<P>[],
    net: { readonly name: string; readonly subnets: readonly { readonly prefix: string }[] },
  ): P[] {
    for (const type of singletonPolicies) {
      const same = specs.filter((s) => s.policy.type === type);
      if (same.length > 1)
        throw invalidArgument(same[1]?.field ?? "Policies", `at most one ${type} policy is allowed`);
    }
    return specs.map(({ field, policy }) => {
      if (policy.type === "SDNRoute") {
        const hop = parseIp(`${field}.NextHop`, policy.nextHop);
        if (!net.subnets.some((s) => contains(parsePrefix("subnet", s.prefix), hop)))
          throw invalidArgument(
            `${field}.NextHop`,
            `${hop.address} is on no subnet of network "${net.name}"`,
          );
      }
      return policy;
    });
  }

  /**
   * RemoteSubnetRoute policies `given` for a network whose policies become `after`, checked inside the store
   * transaction: a network of this host only, on the network's VNI, and each remote subnet routed once, to
   * one router, clear of every network's subnets on this host.
   */
  private checkRemoteSubnets(
    given: readonly PolicySpec<NetworkPolicy>[],
    after: readonly NetworkPolicy[],
    net: {
      readonly id: string | undefined;
      readonly name: string;
      readonly type: NetworkType;
      readonly overlay: OverlaySettings | null;
      readonly subnets: readonly { readonly prefix: string }[];
    },
  ): void {
    const routes = after.filter((p): p is RemoteSubnetRoutePolicy => p.type === "RemoteSubnetRoute");
    for (const { field, policy } of given) {
      if (policy.type !== "RemoteSubnetRoute") continue;
      const at = field.replace(/\.Settings$/, "");
      if (net.type !== "Overlay" || net.overlay === null)
        throw invalidArgument(at, "RemoteSubnetRoute policies are for Overlay networks");
      if (this.overlay !== undefined)
        throw invalidArgument(
          at,
          "hostnetd runs with --etcd: its Overlay networks span the cluster and learn remote endpoints from etcd; RemoteSubnetRoute is for a hostnetd with --host-address alone",
        );
      if (policy.isolationId !== net.overlay.vni)
        throw invalidArgument(`${field}.IsolationId`, `must be the network's VSID, ${net.overlay.vni}`);
      const prefix = parsePrefix(`${field}.DestinationPrefix`, policy.destinationPrefix);
      for (const s of net.subnets)
        if (overlaps(prefix, parsePrefix("subnet", s.prefix)))
          throw invalidArgument(
            `${field}.DestinationPrefix`,
            `${policy.destinationPrefix} overlaps the network's own subnet ${s.prefix}`,
          );
      for (const other of routes)
        if (other !== policy && overlaps(prefix, parsePrefix("route", other.destinationPrefix)))
          throw invalidArgument(
            `${field}.DestinationPrefix`,
            `${policy.destinationPrefix} overlaps the remote subnet ${other.destinationPrefix}`,
          );
      // A router's MAC is one neighbour entry, for one next hop: one remote subnet per router.
      if (routes.some((o) => o !== policy && o.drMac === policy.drMac))
        throw invalidArgument(
          `${field}.DistributedRouterMacAddress`,
          `${policy.drMac} is the router of another remote subnet already`,
        );
      if (this.hostAddress !== undefined && policy.drMac === overlayBridgeMac(this.hostAddress))
        throw invalidArgument(`${field}.DistributedRouterMacAddress`, "is this host's own router");
      for (const other of this.store.networks())
        for (const o of [...other.subnets.map((s) => s.prefix), ...remoteSubnets(other.policies)])
          if (other.id !== net.id && overlaps(prefix, parsePrefix("subnet", o)))
            throw conflict(
              `${field}.DestinationPrefix: ${policy.destinationPrefix} overlaps ${o} of network "${other.name}"`,
              `${field}.DestinationPrefix`,
            );
    }
  }

  /** The load balancers this endpoint is a backend of: deleting it changes them too. */
  private balancersOf(ep: Endpoint): LoadBalancer[] {
    return this.lbStore.withBackend(ep.id).map((id) => this.loadBalancers.get(id));
  }

  private convergeOrUndo(scope: readonly Owner[], undo: () => void): Promise<void> {
    return convergeOrUndo(this.store, this.reconciler, scope, undo);
  }
}

/** HNS's modify request on a list of policies: Add appends, Remove takes out equal ones, Update replaces all. */
function modifiedPolicies<P extends NetworkPolicy>(
  before: readonly P[],
  request: PolicyRequest<P>,
  given: readonly P[],
): P[] {
  const same = (a: P, b: P): boolean => JSON.stringify(a) === JSON.stringify(b);
  let after: P[];
  switch (request.requestType) {
    case "Add":
      after = [...before, ...given];
      break;
    case "Remove":
      given.forEach((p, i) => {
        if (!before.some((b) => same(b, p)))
          throw new HostnetError("NotFound", `Policies[${i}]: there is no such policy`, {
            field: `Policies[${i}]`,
          });
      });
      after = before.filter((b) => !given.some((p) => same(b, p)));
      break;
    case "Update":
      after = [...given];
      break;
  }
  for (const type of singletonPolicies)
    if (after.filter((p) => p.type === type).length > 1)
      throw invalidArgument(
        "Policies",
        `at most one ${type} policy is allowed; use Update or Remove the old one`,
      );
  return after;
}

/** The subnets of other hosts a network routes to (its RemoteSubnetRoute policies). */
const remoteSubnets = (policies: readonly NetworkPolicy[]): string[] =>
  policies.flatMap((p) => (p.type === "RemoteSubnetRoute" ? [p.destinationPrefix] : []));

/** The VXLAN policies a network of another type must not have: it would not do what they ask. */
function refuseOverlayPolicies(type: NetworkType, overlay: NetworkSpec["overlay"]): void {
  const given = overlay?.vni ?? overlay?.port ?? overlay?.overhead;
  if (given !== undefined)
    throw invalidArgument(
      given.field,
      `${type} networks have no VXLAN: only Overlay networks take this policy`,
    );
}

/** The host address a mapping is bound to; none (every address) also for 0.0.0.0 and ::, as Docker reads -p. */
function boundAddress(m: PortMappingSpec): string | undefined {
  if (m.hostIp === undefined || m.hostIp === "") return undefined;
  const ip = parseIp(`${m.field}.VIP`, m.hostIp);
  return ip.value === 0n ? undefined : ip.address;
}

interface ParsedSubnet {
  readonly prefix: Prefix;
  readonly gateway: string;
}

/** The LAN an uplink is on: the prefix of its first IPv4 address, the gateway its default route names. */
function lanSubnet(uplink: UplinkSnapshot): ParsedSubnet {
  const address = uplink.addresses.find((a) => !a.includes(":"));
  if (address === undefined)
    throw invalidArgument(
      "Ipams",
      `${uplink.dev} has no IPv4 address to tell the LAN's subnet by; give the subnet`,
    );
  const prefix = parsePrefix("Ipams", address);
  const router = uplink.routes.find((r) => r.family === 4 && r.dst === "default")?.via;
  return { prefix, gateway: router ?? ipFromValue(4, hostRange(prefix).first) };
}

function parseSubnet(spec: SubnetSpec): ParsedSubnet {
  const prefix = parsePrefix(spec.prefixField, spec.prefix);
  const range = hostRange(prefix);
  if (range.last - range.first < 1n)
    throw invalidArgument(spec.prefixField, `${cidrOf(prefix)} is too small for a gateway and an endpoint`);
  if (spec.gateway === undefined) return { prefix, gateway: ipFromValue(prefix.family, range.first) };
  const gw = parseIp(spec.gatewayField, spec.gateway);
  if (!contains(prefix, gw) || gw.value < range.first || gw.value > range.last)
    throw invalidArgument(
      spec.gatewayField,
      `gateway ${gw.address} is not a host address of ${cidrOf(prefix)}`,
    );
  return { prefix, gateway: gw.address };
}

/** A locally administered unicast MAC (02:…), random so it never repeats an earlier endpoint's. */
function randomMac(): string {
  const bytes = [0x02, ...randomBytes(5)];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
