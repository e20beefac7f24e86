/**
 * Remote endpoints declared through the API (HNS's `Flags: 1`, RemoteEndpoint): on a routed overlay, the
 * pods of other hosts, which an orchestrator (Windows kube-proxy) makes so that they can be load balancer
 * backends. Such an endpoint is an address in one of the network's remote subnets and the host it is on;
 * the network's RemoteSubnetRoute already carries packets there, so it adds to the kernel only what a
 * connection DNATed to it needs to come back (modes/overlay.ts). A shared overlay learns its remote
 * endpoints from etcd instead (overlay-peers.ts).
 */
import { conflict, conflictAt, HostnetError, invalidArgument } from "../errors.js";
import { contains, parseIp, parsePrefix } from "../model/ip.js";
import { overlayEndpointMac } from "../model/overlay.js";
import { noDns, type Endpoint, type Network } from "../model/types.js";
import type { RemoteSubnetRoutePolicy } from "../policies/remote-subnet-route.js";
import { freshId, getEndpoint, type Core } from "./context.js";
import { endpointChanged } from "./record.js";
import type { EndpointSpec, RemoteSpec } from "./specs.js";
import { checkMac, checkName } from "./validate.js";

/** A remote endpoint as checked: the remote subnet its address is in, and the host that has it. */
interface RemoteRecord {
  readonly name: string;
  readonly net: Network;
  readonly mac: string;
  readonly address: string;
  /** The request's field for the address. */
  readonly addressField: string;
  readonly prefixLength: number;
  readonly providerAddress: string;
}

export async function createRemoteEndpoint(
  core: Core,
  spec: EndpointSpec,
  remote: RemoteSpec,
): Promise<Endpoint> {
  const net = core.store.networks.find(spec.network);
  if (net === undefined)
    throw new HostnetError("NotFound", `network "${spec.network}" not found`, { field: "network" });
  const record = checkRemote(core, spec, net, remote);
  const id = core.store.write(() => insertRemote(core, record));
  await core.convergeOrUndo([`ep:${id}`], () => core.store.endpoints.delete(id));
  const created = getEndpoint(core, id);
  endpointChanged(core, "create", created);
  return created;
}

function checkRemote(core: Core, spec: EndpointSpec, net: Network, remote: RemoteSpec): RemoteRecord {
  if (net.overlay === null)
    throw invalidArgument(
      remote.field,
      `a remote endpoint is on an Overlay network, and "${net.name}" is ${net.type}`,
    );
  if (core.host.overlay !== undefined)
    throw invalidArgument(
      remote.field,
      "hostnetd runs with --etcd: its Overlay networks learn other hosts' endpoints from etcd; remote endpoints are declared on a routed overlay (--host-address alone)",
    );
  refuseLocalParts(spec);
  const [ip, second] = spec.ips;
  if (ip === undefined)
    throw invalidArgument(remote.addressesField, "a remote endpoint needs its address, in a remote subnet");
  if (second !== undefined) throw invalidArgument(second.field, "a remote endpoint has one address, IPv4");
  const address = parseIp(ip.field, ip.address);
  if (address.family !== 4)
    throw invalidArgument(ip.field, `${address.address} is IPv6; remote subnets are IPv4`);
  const own = net.subnets.find((s) => contains(parsePrefix("subnet", s.prefix), address));
  if (own !== undefined)
    throw invalidArgument(
      ip.field,
      `${address.address} is in this host's own subnet ${own.prefix} of network "${net.name}"; a remote endpoint's address is in a remote subnet`,
    );
  const route = routeTo(net, address.address);
  if (route === undefined)
    throw invalidArgument(
      ip.field,
      `${address.address} is in no remote subnet of network "${net.name}" (no RemoteSubnetRoute policy routes it)`,
    );
  const prefixLength = parsePrefix("route", route.destinationPrefix).length;
  const length = ip.prefixLength;
  if (length !== undefined && length.value !== prefixLength)
    throw invalidArgument(
      length.field,
      `${length.value} is not the prefix length of ${address.address}'s remote subnet ${route.destinationPrefix}`,
    );
  const given = spec.providerAddress;
  if (given !== undefined && parseIp(given.field, given.value).address !== route.providerAddress)
    throw invalidArgument(
      given.field,
      `${given.value} is not the host of remote subnet ${route.destinationPrefix}, which is ${route.providerAddress}`,
    );
  return {
    // Named as a shared overlay names another host's endpoints, which no request's name can be ("@").
    name: spec.name === undefined ? `${address.address}@${net.name}` : checkName("name", spec.name),
    net,
    // kube-proxy gives HNS's spelling, 02-11-0a-f4-02-05; it is the kernel's nowhere, only shown.
    mac:
      spec.mac === undefined ? overlayEndpointMac(address) : checkMac("mac", spec.mac.replaceAll("-", ":")),
    address: address.address,
    addressField: ip.field,
    prefixLength,
    providerAddress: route.providerAddress,
  };
}

/** What only an endpoint of this host has: a remote endpoint is an address and a host, nothing more. */
function refuseLocalParts(spec: EndpointSpec): void {
  if (spec.attach !== undefined)
    throw invalidArgument(
      "namespace",
      "a remote endpoint is on another host: it is never attached to a namespace here",
    );
  const [mapping] = spec.portMappings;
  if (mapping !== undefined)
    throw invalidArgument(
      mapping.field,
      "a remote endpoint is on another host: it has no port mappings here",
    );
  const [policy] = spec.policies;
  if (policy !== undefined)
    throw invalidArgument(
      policy.field,
      "a remote endpoint is on another host: its policies act there, not here",
    );
  if (spec.gatewayPriority !== undefined)
    throw invalidArgument(spec.gatewayPriority.field, "a remote endpoint is in no namespace of this host");
  const { domain, search, servers, options } = spec.dns ?? {};
  const dns = domain ?? search ?? servers ?? options;
  if (dns !== undefined)
    throw invalidArgument(dns.field, "a remote endpoint is in no namespace of this host");
  if (spec.aliases !== undefined)
    throw invalidArgument(spec.aliases.field, "a remote endpoint's names are given on its own host");
  if (spec.origin !== undefined)
    throw invalidArgument("name", "a remote endpoint is declared through the API");
}

/** The network's RemoteSubnetRoute whose subnet has the address. */
function routeTo(net: Network, address: string): RemoteSubnetRoutePolicy | undefined {
  const ip = parseIp("address", address);
  return net.policies.find(
    (p): p is RemoteSubnetRoutePolicy =>
      p.type === "RemoteSubnetRoute" && contains(parsePrefix("route", p.destinationPrefix), ip),
  );
}

function insertRemote(core: Core, r: RemoteRecord): string {
  const { store } = core;
  const holder = store.endpoints.withRemoteAddress(r.net.id, r.address);
  if (holder !== undefined)
    throw conflictAt(
      r.addressField,
      `${r.address} is the address of remote endpoint "${holder.name}" on network "${r.net.name}"`,
    );
  if (store.endpoints.find(r.name) !== undefined)
    throw conflict(`endpoint "${r.name}" already exists`, "name");
  const [id, shortId] = freshId((s) => store.endpoints.shortIdTaken(s));
  store.endpoints.insert({
    id,
    name: r.name,
    networkId: r.net.id,
    shortId,
    mac: r.mac,
    attachment: null,
    gatewayPriority: 0,
    remoteHost: r.providerAddress,
    dns: noDns,
    aliases: [],
  });
  store.endpoints.insertRemoteAddress(id, r.net.id, r.address, r.prefixLength);
  return id;
}

/**
 * A network's policies may change only while each of its remote endpoints stays in a remote subnet routed
 * to its host: an endpoint left without its route would be a backend nothing reaches.
 */
export function checkRemoteEndpointsRouted(
  core: Core,
  net: Network,
  after: readonly { readonly type: string }[],
): void {
  const routes = after.filter((p): p is RemoteSubnetRoutePolicy => p.type === "RemoteSubnetRoute");
  for (const ep of core.store.endpoints.all({ networkId: net.id }))
    for (const a of ep.addresses) {
      if (a.subnetId !== null) continue;
      const ip = parseIp("address", a.address);
      const route = routes.find((r) => contains(parsePrefix("route", r.destinationPrefix), ip));
      if (route?.providerAddress !== ep.remoteHost)
        throw conflictAt(
          "policies",
          `remote endpoint "${ep.name}" (${a.address}) is on host ${ep.remoteHost ?? "?"} by the remote subnet this change ${route === undefined ? "removes" : `gives to ${route.providerAddress}`}; delete the endpoint first`,
        );
    }
}
