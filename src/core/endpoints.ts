/**
 * Endpoints: created with their addresses, port mappings and policies in one store transaction, then
 * attached to a namespace (hostnet configures the container end), handed off to a runtime (it configures
 * the container end itself), detached, and deleted.
 */
import { randomBytes } from "node:crypto";
import { checkAliases, checkDns } from "../dns/settings.js";
import { conflict, conflictAt, HostnetError, invalidArgument } from "../errors.js";
import { allocateAddress } from "../ipam/ipam.js";
import { MAX_ATTACH_ORDER } from "../model/gateway.js";
import { contains, parseIp, parsePrefix, type Prefix } from "../model/ip.js";
import { overlayEndpointMac } from "../model/overlay.js";
import type { DnsSettings, Endpoint, NamespaceAttachment, Network, Origin } from "../model/types.js";
import { checkPolicies, checkPoliciesInForce } from "../policies/checks.js";
import { balancersOf, freshId, getEndpoint, getNamespace, getNetwork, type Core } from "./context.js";
import { claimAddresses, clusterOf, preferredBlocks, releaseAddresses } from "./overlay.js";
import { checkPortMappings, insertPortMappings, type CheckedMapping } from "./port-mappings.js";
import { endpointChanged } from "./record.js";
import { createRemoteEndpoint } from "./remote-endpoints.js";
import type { AttachSpec, EndpointSpec } from "./specs.js";
import { checkGatewayPriority, checkIfname, checkMac, checkName } from "./validate.js";

const DEFAULT_IFNAME = "eth0";

/** An address the request asks for, and its field. */
interface RequestedAddress {
  readonly field: string;
  readonly address: string;
}

export function listEndpoints(core: Core, filter: { network?: string; namespace?: string } = {}): Endpoint[] {
  return core.store.endpoints.all({
    ...(filter.network === undefined ? {} : { networkId: getNetwork(core, filter.network).id }),
    ...(filter.namespace === undefined ? {} : { namespaceId: getNamespace(core, filter.namespace).id }),
  });
}

/** The endpoint a client made under its own key, if there is one. */
export function endpointByOrigin(core: Core, origin: Origin): Endpoint | undefined {
  const id = core.store.endpoints.idByOrigin(origin);
  return id === undefined ? undefined : core.store.endpoints.find(id);
}

/** Every endpoint one client made, with the client's key for it. */
export function endpointsByOrigin(core: Core, kind: Origin["kind"]): { endpoint: Endpoint; key: string }[] {
  return core.store.endpoints.origins(kind).flatMap(({ endpointId, key }) => {
    const endpoint = core.store.endpoints.find(endpointId);
    return endpoint === undefined ? [] : [{ endpoint, key }];
  });
}

export async function createEndpoint(core: Core, spec: EndpointSpec): Promise<Endpoint> {
  if (spec.remote !== undefined) return createRemoteEndpoint(core, spec, spec.remote);
  if (spec.name === undefined) throw invalidArgument("name", "is required");
  if (spec.providerAddress !== undefined)
    throw invalidArgument(
      spec.providerAddress.field,
      "is the host of a remote endpoint (Flags 1); this endpoint is on this host",
    );
  const name = checkName("name", spec.name);
  const net = core.store.networks.find(spec.network);
  if (net === undefined)
    throw new HostnetError("NotFound", `network "${spec.network}" not found`, {
      field: "network",
    });
  const mac = spec.mac === undefined ? randomMac() : checkMac("mac", spec.mac);
  const priority = spec.gatewayPriority;
  const gatewayPriority = priority === undefined ? 0 : checkGatewayPriority(priority.field, priority.value);
  const requested = requestedAddresses(net, spec.ips);
  const mappings = checkPortMappings(spec.portMappings, net);
  const attach = spec.attach === undefined ? undefined : resolveAttach(core, spec.attach);
  const dns = checkDns(spec.dns);
  const aliases = checkAliases(spec.aliases, name);
  const cluster = clusterOf(core, net);
  const preferred = await preferredBlocks(cluster, net, requested);
  // Addresses other hosts of the overlay hold, learnt from refused claims.
  const elsewhere = new Set<string>();
  const record = {
    spec,
    name,
    net,
    mac,
    gatewayPriority,
    requested,
    mappings,
    attach,
    elsewhere,
    preferred,
    dns,
    aliases,
  };
  for (;;) {
    const id = insertEndpoint(core, record);
    const taken = await claimAddresses(core, cluster, net, id, requested);
    if (taken === undefined) {
      await core.convergeOrUndo([`ep:${id}`], () => core.store.endpoints.delete(id));
      const created = getEndpoint(core, id);
      core.host.leases.start(created);
      if (cluster !== undefined) void cluster.addresses.reserveAhead(net);
      endpointChanged(core, "create", created);
      return created;
    }
    elsewhere.add(taken);
  }
}

/** The addresses a request asks for, by subnet id: at most one of each subnet, and none DHCP leases. */
function requestedAddresses(net: Network, ips: EndpointSpec["ips"]): Map<number, RequestedAddress> {
  const requested = new Map<number, RequestedAddress>();
  for (const ip of ips) {
    const parsed = parseIp(ip.field, ip.address);
    if (net.ipam === "dhcp" && parsed.family === 4)
      throw invalidArgument(
        ip.field,
        `IPv4 addresses of network "${net.name}" come from the LAN's DHCP server`,
      );
    const subnet = net.subnets.find((s) => contains(parsePrefix("subnet", s.prefix), parsed));
    if (subnet === undefined)
      throw invalidArgument(ip.field, `${parsed.address} is in no subnet of network "${net.name}"`);
    const length = ip.prefixLength;
    if (length !== undefined && length.value !== parsePrefix("subnet", subnet.prefix).length)
      throw invalidArgument(
        length.field,
        `${length.value} is not the prefix length of ${parsed.address}'s subnet ${subnet.prefix}`,
      );
    if (requested.has(subnet.id))
      throw invalidArgument(ip.field, `a second address in subnet ${subnet.prefix}`);
    requested.set(subnet.id, { field: ip.field, address: parsed.address });
  }
  return requested;
}

/** A new endpoint, checked and ready to record. */
interface EndpointRecord {
  readonly spec: EndpointSpec;
  readonly name: string;
  readonly net: Network;
  readonly mac: string;
  readonly gatewayPriority: number;
  readonly requested: ReadonlyMap<number, RequestedAddress>;
  readonly mappings: readonly CheckedMapping[];
  readonly attach: NewNamespaceAttachment | undefined;
  /** Addresses other hosts hold: never given out. */
  readonly elsewhere: ReadonlySet<string>;
  /** By subnet id, the blocks addresses come from first. */
  readonly preferred: ReadonlyMap<number, readonly Prefix[]>;
  readonly dns: DnsSettings;
  readonly aliases: readonly string[];
}

/** Records the endpoint with its addresses, port mappings and policies in one store transaction. */
function insertEndpoint(core: Core, r: EndpointRecord): string {
  const { store } = core;
  return store.write(() => {
    if (store.endpoints.find(r.name) !== undefined)
      throw conflict(`endpoint "${r.name}" already exists`, "name");
    if (r.spec.origin !== undefined && store.endpoints.idByOrigin(r.spec.origin) !== undefined)
      throw conflict(`${r.spec.origin.kind} ${r.spec.origin.key} already has an endpoint`);
    if (r.attach !== undefined) checkAttachFree(core, r.attach);
    checkNamesFree(core, r);
    // Two interfaces with one MAC on a bridge steal each other's frames: a conflict, like a taken address.
    const sameMac = r.spec.mac === undefined ? undefined : store.endpoints.withMac(r.net.id, r.mac);
    if (sameMac !== undefined)
      throw conflictAt("mac", `${r.mac} is the MAC of endpoint "${sameMac.name}" on this network`);
    const [epId, shortId] = freshId((s) => store.endpoints.shortIdTaken(s));
    store.endpoints.insert({
      id: epId,
      name: r.name,
      networkId: r.net.id,
      shortId,
      mac: r.mac,
      attachment: r.attach ?? null,
      gatewayPriority: r.gatewayPriority,
      remoteHost: null,
      dns: r.dns,
      aliases: r.aliases,
    });
    const { net } = r;
    const hostAddresses = new Set([
      ...(net.uplink?.addresses.map((cidr) => parseIp("host", cidr.split("/")[0] ?? "").address) ?? []),
      ...r.elsewhere,
      ...(net.overlay?.sourceAddress == null ? [] : [net.overlay.sourceAddress]),
    ]);
    const addresses = net.subnets
      .filter((s) => net.ipam !== "dhcp" || s.family !== 4)
      .map((subnet) =>
        allocateAddress(
          store,
          subnet,
          epId,
          r.requested.get(subnet.id),
          hostAddresses,
          r.preferred.get(subnet.id),
        ),
      );
    if (r.spec.mac === undefined && net.overlay !== null) followAddress(core, net, epId, addresses);
    insertPortMappings(core, epId, r.mappings);
    const policies = checkPolicies(r.spec.policies, net, core.host.kernelFeatures);
    checkPoliciesInForce(policies, net.policies);
    store.endpoints.setPolicies(epId, policies);
    if (r.spec.origin !== undefined) store.endpoints.insertOrigin(epId, r.spec.origin);
    return epId;
  });
}

export async function deleteEndpoint(core: Core, ref: string): Promise<void> {
  const ep = getEndpoint(core, ref);
  core.host.leases.stop(ep.id);
  const balancers = balancersOf(core, ep);
  core.store.write(() => core.store.endpoints.delete(ep.id));
  await core.reconciler.converge([`ep:${ep.id}`, ...balancers.map((lb) => `lb:${lb.id}` as const)]);
  await core.loadBalancers.forget([{ lbs: balancers, ep }]);
  await releaseAddresses(core, getNetwork(core, ep.networkId), [ep]);
  endpointChanged(core, "delete", ep);
}

/**
 * Takes one address from another host's endpoint, which keeps its others (a dual-stack endpoint whose
 * IPv6 address went, say): its FDB entries stay, the neighbour entry of that address goes.
 */
export async function deleteEndpointAddress(core: Core, ref: string, address: string): Promise<void> {
  const ep = getEndpoint(core, ref);
  const gone = ep.addresses.find((a) => a.address === address);
  // Only another host's shared-overlay endpoint loses addresses one by one; those are of subnets.
  const subnetId = gone?.subnetId;
  if (gone === undefined || subnetId == null) return;
  const balancers = balancersOf(core, ep);
  core.store.write(() => core.store.endpoints.setLeasedAddress(ep.id, subnetId, null));
  await core.reconciler.converge([`ep:${ep.id}`, ...balancers.map((lb) => `lb:${lb.id}` as const)]);
  await core.loadBalancers.forget([{ lbs: balancers, ep: { ...ep, addresses: [gone] } }]);
  endpointChanged(core, "update", getEndpoint(core, ep.id), { AddressRemoved: address });
}

export async function attachEndpoint(core: Core, ref: string, spec: AttachSpec): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  refuseRemote(ep);
  const attach = resolveAttach(core, spec);
  if (ep.attachment !== null) {
    if (
      ep.attachment.kind === "namespace" &&
      ep.attachment.namespaceId === attach.namespaceId &&
      ep.attachment.ifname === attach.ifname
    )
      return ep;
    throw conflict(`endpoint "${ep.name}" is already attached; detach it first`);
  }
  core.store.write(() => {
    checkAttachFree(core, attach);
    core.store.endpoints.setAttachment(ep.id, attach);
  });
  await core.convergeOrUndo([`ep:${ep.id}`], () => core.store.endpoints.setAttachment(ep.id, null));
  const attached = getEndpoint(core, ep.id);
  core.host.leases.start(attached);
  endpointChanged(core, "attach", attached);
  return attached;
}

/**
 * Creates the endpoint's veth with its container end left in hostnetd's namespace, for a runtime that
 * moves it into `sandbox` and configures it itself (Docker's Join).
 */
export async function handOffEndpoint(core: Core, ref: string, sandbox: string): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  refuseRemote(ep);
  if (getNetwork(core, ep.networkId).ipam === "dhcp")
    throw invalidArgument("sandbox", "a runtime that configures addresses itself cannot take a DHCP lease's");
  if (ep.attachment !== null) {
    if (ep.attachment.kind === "handoff" && ep.attachment.sandbox === sandbox) return ep;
    throw conflict(`endpoint "${ep.name}" is already attached; detach it first`);
  }
  core.store.write(() => core.store.endpoints.setAttachment(ep.id, { kind: "handoff", sandbox }));
  await core.convergeOrUndo([`ep:${ep.id}`], () => core.store.endpoints.setAttachment(ep.id, null));
  const handedOff = getEndpoint(core, ep.id);
  endpointChanged(core, "attach", handedOff);
  return handedOff;
}

export async function detachEndpoint(core: Core, ref: string): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  if (ep.attachment === null) return ep;
  core.host.leases.stop(ep.id);
  core.store.write(() => core.store.endpoints.setAttachment(ep.id, null));
  await core.reconciler.converge([`ep:${ep.id}`]);
  // The event says where it was attached.
  endpointChanged(core, "detach", ep);
  return getEndpoint(core, ep.id);
}

/** Another host's endpoint has its interface there: nothing of it can be attached here. */
function refuseRemote(ep: Endpoint): void {
  if (ep.remoteHost !== null)
    throw conflict(
      `endpoint "${ep.name}" is on another host (${ep.remoteHost}): it is never attached to a namespace here`,
    );
}

/** A namespace attachment as a request asks for it; the store gives it its order. */
type NewNamespaceAttachment = Omit<NamespaceAttachment, "order">;

function resolveAttach(core: Core, spec: AttachSpec): NewNamespaceAttachment {
  const ns = core.store.namespaces.find(spec.namespace);
  if (ns === undefined)
    throw new HostnetError("NotFound", `namespace "${spec.namespace}" not found`, {
      field: "namespace",
    });
  return {
    kind: "namespace",
    namespaceId: ns.id,
    ifname: checkIfname("ifname", spec.ifname ?? DEFAULT_IFNAME),
  };
}

/** One name, one endpoint on a network: the resolver answers a name or an alias with one endpoint's addresses. */
function checkNamesFree(core: Core, r: EndpointRecord): void {
  const names = [
    { name: r.name, field: "name" },
    ...r.aliases.map((name, i) => ({ name, field: `${r.spec.aliases?.field ?? "aliases"}[${i}]` })),
  ];
  for (const { name, field } of names) {
    const holder = core.store.endpoints.withDnsName(r.net.id, name);
    if (holder !== undefined)
      throw conflictAt(
        field,
        `"${name}" is a name or alias of endpoint "${core.store.endpoints.find(holder)?.name ?? holder}" on network "${r.net.name}"`,
      );
  }
}

function checkAttachFree(core: Core, attach: { namespaceId: string; ifname: string }): void {
  const holder = core.store.endpoints.at(attach.namespaceId, attach.ifname);
  if (holder !== undefined)
    throw conflict(`interface ${attach.ifname} in that namespace is endpoint "${holder.name}"`, "ifname");
  // Attach orders rank the namespace's gateways inside a route metric (modes/gateway-routes.ts); they start again
  // at 1 once the namespace has no endpoint left.
  if (core.store.endpoints.nextAttachOrder(attach.namespaceId) > MAX_ATTACH_ORDER)
    throw conflict(
      `that namespace took ${MAX_ATTACH_ORDER} attachments without ever being left without one; detach all its endpoints first`,
      "namespace",
    );
}

/**
 * Gives an overlay endpoint the MAC of its address (its IPv4 one first), so that it keeps its MAC when it
 * moves to another host with its address. Should another endpoint of the network have that MAC already (an
 * IPv6 address with the same low 32 bits, or a MAC given by a request), the endpoint keeps its random one.
 */
function followAddress(core: Core, net: Network, epId: string, addresses: readonly string[]): void {
  const ips = addresses.map((a) => parseIp("address", a));
  const ip = ips.find((a) => a.family === 4) ?? ips[0];
  if (ip === undefined) return;
  const mac = overlayEndpointMac(ip);
  if (!core.store.endpoints.macTaken(net.id, mac, epId)) core.store.endpoints.setMac(epId, mac);
}

/** A locally administered unicast MAC (02:…), random so it never repeats an earlier endpoint's. */
function randomMac(): string {
  const bytes = [0x02, ...randomBytes(5)];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
