/**
 * Endpoints in the store's database, with what is theirs: their addresses, port mappings and policies, and
 * the client that made them. An endpoint is read whole, each of its parts in one query however many
 * endpoints are read.
 */
import type { Family } from "../model/ip.js";
import {
  noDns,
  type Attachment,
  type DetachedReason,
  type NewAttachment,
  type DnsSettings,
  type Endpoint,
  type EndpointAddress,
  type Origin,
  type PortMapping,
  type Protocol,
} from "../model/types.js";
import type { EndpointPolicy } from "../policies/index.js";
import type { Prepare } from "./statements.js";

interface EndpointRow {
  id: string;
  name: string;
  network_id: string;
  short_id: string;
  mac: string;
  namespace_id: string | null;
  ifname: string | null;
  attach_order: number | null;
  gateway_priority: number;
  handoff_sandbox: string | null;
  remote_host: string | null;
  detached_reason: DetachedReason | null;
  dns: string | null;
}
interface AddressRow {
  endpoint_id: string;
  subnet_id: number;
  address: string;
  family: number;
  prefix: string;
}
interface RemoteAddressRow {
  endpoint_id: string;
  address: string;
  prefix_length: number;
}
interface AliasRow {
  endpoint_id: string;
  alias: string;
}
interface PolicyRow {
  endpoint_id: string;
  seq: number;
  policy: string;
}
interface PortMappingRow {
  endpoint_id: string;
  protocol: string;
  host_ip: string;
  host_port: number;
  internal_port: number;
}

export interface NewEndpoint {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly shortId: string;
  readonly mac: string;
  readonly attachment: NewAttachment | null;
  readonly gatewayPriority: number;
  readonly remoteHost: string | null;
  readonly dns: DnsSettings;
  readonly aliases: readonly string[];
}

export class EndpointStore {
  constructor(private readonly prepare: Prepare) {}

  insert(e: NewEndpoint): void {
    this.prepare(
      "INSERT INTO endpoints (id, name, network_id, short_id, mac, gateway_priority, remote_host, dns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      e.id,
      e.name,
      e.networkId,
      e.shortId,
      e.mac,
      e.gatewayPriority,
      e.remoteHost,
      JSON.stringify(e.dns),
    );
    if (e.attachment !== null) this.setAttachment(e.id, e.attachment);
    this.setAliases(e.id, e.networkId, e.aliases);
  }

  /** Replaces the endpoint's aliases (another host's endpoint, whose host published other names). */
  setAliases(endpointId: string, networkId: string, aliases: readonly string[]): void {
    this.prepare("DELETE FROM endpoint_aliases WHERE endpoint_id = ?").run(endpointId);
    const insertAlias = this.prepare(
      "INSERT INTO endpoint_aliases (network_id, alias, endpoint_id, seq) VALUES (?, ?, ?, ?)",
    );
    aliases.forEach((alias, seq) => insertAlias.run(networkId, alias, endpointId, seq));
  }

  /** The endpoint of the network that has this name or alias, in any case, but for `exceptId`. */
  withDnsName(networkId: string, name: string, exceptId = ""): string | undefined {
    const row = this.prepare<[string, string, string, string, string, string], { id: string }>(
      `SELECT id FROM endpoints WHERE network_id = ? AND name = ? COLLATE NOCASE AND id != ?
       UNION ALL SELECT endpoint_id AS id FROM endpoint_aliases WHERE network_id = ? AND alias = ? AND endpoint_id != ?
       LIMIT 1`,
    ).get(networkId, name, exceptId, networkId, name.toLowerCase(), exceptId);
    return row?.id;
  }

  /**
   * `reason`: why hostnet detached it by itself; any other change of attachment clears it. A namespace
   * attachment comes after the namespace's others (nextAttachOrder).
   */
  setAttachment(endpointId: string, attachment: NewAttachment | null, reason?: DetachedReason): void {
    const inNamespace = attachment?.kind === "namespace" ? attachment : undefined;
    this.prepare(
      "UPDATE endpoints SET namespace_id = ?, ifname = ?, attach_order = ?, handoff_sandbox = ?, detached_reason = ? WHERE id = ?",
    ).run(
      inNamespace?.namespaceId ?? null,
      inNamespace?.ifname ?? null,
      inNamespace === undefined ? null : this.nextAttachOrder(inNamespace.namespaceId),
      attachment?.kind === "handoff" ? attachment.sandbox : null,
      attachment === null ? (reason ?? null) : null,
      endpointId,
    );
  }

  /** The namespaces endpoints are attached to, without reading the endpoints. */
  attachedNamespaceIds(): Set<string> {
    const rows = this.prepare<[], { id: string }>(
      "SELECT DISTINCT namespace_id AS id FROM endpoints WHERE namespace_id IS NOT NULL",
    ).all();
    return new Set(rows.map((r) => r.id));
  }

  /** The order of the namespace's next attachment: one more than its last, or 1 when it has none. */
  nextAttachOrder(namespaceId: string): number {
    const row = this.prepare<[string], { last: number | null }>(
      "SELECT MAX(attach_order) AS last FROM endpoints WHERE namespace_id = ?",
    ).get(namespaceId);
    return (row?.last ?? 0) + 1;
  }

  setMac(endpointId: string, mac: string): void {
    this.prepare("UPDATE endpoints SET mac = ? WHERE id = ?").run(mac, endpointId);
  }

  /** Whether another endpoint of the network, on this host or another, has this MAC. */
  macTaken(networkId: string, mac: string, exceptId: string): boolean {
    return (
      this.prepare("SELECT 1 FROM endpoints WHERE network_id = ? AND mac = ? AND id != ?").get(
        networkId,
        mac,
        exceptId,
      ) !== undefined
    );
  }

  delete(id: string): void {
    this.prepare("DELETE FROM endpoints WHERE id = ?").run(id);
  }

  shortIdTaken(shortId: string): boolean {
    return this.prepare("SELECT 1 FROM endpoints WHERE short_id = ?").get(shortId) !== undefined;
  }

  all(filter: { networkId?: string; namespaceId?: string } = {}): Endpoint[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.networkId !== undefined) {
      where.push("network_id = ?");
      args.push(filter.networkId);
    }
    if (filter.namespaceId !== undefined) {
      where.push("namespace_id = ?");
      args.push(filter.namespaceId);
    }
    const clause = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    const rows = this.prepare<string[], EndpointRow>(`SELECT * FROM endpoints ${clause} ORDER BY name`).all(
      ...args,
    );
    return this.hydrate(rows);
  }

  /** The endpoint with this id or name. */
  find(ref: string): Endpoint | undefined {
    const row = this.prepare<[string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE id = ? OR name = ?",
    ).get(ref, ref);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  /** Another host's endpoint on the network with this MAC, which each of its addresses joins. */
  remote(networkId: string, host: string, mac: string): Endpoint | undefined {
    const row = this.prepare<[string, string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE network_id = ? AND remote_host = ? AND mac = ?",
    ).get(networkId, host, mac);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  /** The endpoint of the network, of this host or another, that has this MAC. */
  withMac(networkId: string, mac: string): Endpoint | undefined {
    const row = this.prepare<[string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE network_id = ? AND mac = ?",
    ).get(networkId, mac);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  /** The endpoint attached to the namespace as `ifname`. */
  at(namespaceId: string, ifname: string): Endpoint | undefined {
    const row = this.prepare<[string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE namespace_id = ? AND ifname = ?",
    ).get(namespaceId, ifname);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  private hydrate(rows: EndpointRow[]): Endpoint[] {
    if (rows.length === 0) return [];
    const one = rows.length === 1 ? rows[0]?.id : undefined;
    const addressSql =
      "SELECT a.endpoint_id, a.subnet_id, a.address, s.family, s.prefix FROM addresses a JOIN subnets s ON s.id = a.subnet_id";
    const addresses =
      one === undefined
        ? this.prepare<[], AddressRow>(`${addressSql} ORDER BY s.family`).all()
        : this.prepare<[string], AddressRow>(`${addressSql} WHERE a.endpoint_id = ? ORDER BY s.family`).all(
            one,
          );
    const remoteAddresses =
      one === undefined
        ? this.prepare<[], RemoteAddressRow>("SELECT * FROM remote_addresses").all()
        : this.prepare<[string], RemoteAddressRow>(
            "SELECT * FROM remote_addresses WHERE endpoint_id = ?",
          ).all(one);
    const mappings =
      one === undefined
        ? this.prepare<[], PortMappingRow>("SELECT * FROM port_mappings").all()
        : this.prepare<[string], PortMappingRow>("SELECT * FROM port_mappings WHERE endpoint_id = ?").all(
            one,
          );
    const policies =
      one === undefined
        ? this.prepare<[], PolicyRow>("SELECT * FROM endpoint_policies ORDER BY seq").all()
        : this.prepare<[string], PolicyRow>(
            "SELECT * FROM endpoint_policies WHERE endpoint_id = ? ORDER BY seq",
          ).all(one);
    const aliases =
      one === undefined
        ? this.prepare<[], AliasRow>("SELECT endpoint_id, alias FROM endpoint_aliases ORDER BY seq").all()
        : this.prepare<[string], AliasRow>(
            "SELECT endpoint_id, alias FROM endpoint_aliases WHERE endpoint_id = ? ORDER BY seq",
          ).all(one);
    const aliasesOf = groupBy(aliases, (a) => a.endpoint_id);
    const policiesOf = groupBy(policies, (p) => p.endpoint_id);
    const addressesOf = groupBy(addresses, (a) => a.endpoint_id);
    const remoteAddressesOf = groupBy(remoteAddresses, (a) => a.endpoint_id);
    const mappingsOf = groupBy(mappings, (m) => m.endpoint_id);
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      networkId: row.network_id,
      shortId: row.short_id,
      mac: row.mac,
      attachment: toAttachment(row),
      gatewayPriority: row.gateway_priority,
      ...(row.detached_reason === null ? {} : { detachedReason: row.detached_reason }),
      remoteHost: row.remote_host,
      addresses: [
        ...(addressesOf.get(row.id) ?? []).map(toAddress),
        ...(remoteAddressesOf.get(row.id) ?? []).map(toRemoteAddress),
      ],
      portMappings: (mappingsOf.get(row.id) ?? []).map(toPortMapping),
      policies: (policiesOf.get(row.id) ?? []).map((p) => JSON.parse(p.policy) as EndpointPolicy),
      dns: row.dns === null ? noDns : (JSON.parse(row.dns) as DnsSettings),
      aliases: (aliasesOf.get(row.id) ?? []).map((a) => a.alias),
    }));
  }

  /** Records which client made an endpoint, under the client's own key for it (CNI: container and ifname). */
  insertOrigin(endpointId: string, origin: Origin): void {
    this.prepare("INSERT INTO endpoint_origins (endpoint_id, kind, key) VALUES (?, ?, ?)").run(
      endpointId,
      origin.kind,
      origin.key,
    );
  }

  idByOrigin(origin: Origin): string | undefined {
    return this.prepare<[string, string], { endpoint_id: string }>(
      "SELECT endpoint_id FROM endpoint_origins WHERE kind = ? AND key = ?",
    ).get(origin.kind, origin.key)?.endpoint_id;
  }

  /** Every endpoint one client made, with its key. */
  origins(kind: Origin["kind"]): { endpointId: string; key: string }[] {
    return this.prepare<[string], { endpoint_id: string; key: string }>(
      "SELECT endpoint_id, key FROM endpoint_origins WHERE kind = ? ORDER BY key",
    )
      .all(kind)
      .map((r) => ({ endpointId: r.endpoint_id, key: r.key }));
  }

  /** Replaces all policies of an endpoint, keeping the order given. */
  setPolicies(endpointId: string, policies: readonly EndpointPolicy[]): void {
    this.prepare("DELETE FROM endpoint_policies WHERE endpoint_id = ?").run(endpointId);
    const insert = this.prepare("INSERT INTO endpoint_policies (endpoint_id, seq, policy) VALUES (?, ?, ?)");
    policies.forEach((p, i) => insert.run(endpointId, i, JSON.stringify(p)));
  }

  // Addresses

  addressTaken(subnetId: number, address: string): boolean {
    return (
      this.prepare("SELECT 1 FROM addresses WHERE subnet_id = ? AND address = ?").get(subnetId, address) !==
      undefined
    );
  }

  /** The endpoint that has this address of the subnet, if one does. */
  /** An endpoint's addresses, IPv4 first: what the resolver answers, without reading the rest of it. */
  addressesOf(endpointId: string): string[] {
    return this.prepare<[string], { address: string }>(
      "SELECT a.address FROM addresses a JOIN subnets s ON s.id = a.subnet_id WHERE a.endpoint_id = ? ORDER BY s.family",
    )
      .all(endpointId)
      .map((r) => r.address);
  }

  withAddress(subnetId: number, address: string): Endpoint | undefined {
    const row = this.prepare<[number, string], { endpoint_id: string }>(
      "SELECT endpoint_id FROM addresses WHERE subnet_id = ? AND address = ?",
    ).get(subnetId, address);
    return row === undefined ? undefined : this.find(row.endpoint_id);
  }

  insertAddress(subnetId: number, address: string, endpointId: string): void {
    this.prepare("INSERT INTO addresses (subnet_id, address, endpoint_id) VALUES (?, ?, ?)").run(
      subnetId,
      address,
      endpointId,
    );
  }

  /** A routed overlay's remote endpoint's address, in one of the network's remote subnets. */
  insertRemoteAddress(endpointId: string, networkId: string, address: string, prefixLength: number): void {
    this.prepare(
      "INSERT INTO remote_addresses (endpoint_id, network_id, address, prefix_length) VALUES (?, ?, ?, ?)",
    ).run(endpointId, networkId, address, prefixLength);
  }

  /** The remote endpoint of the network that has this address of a remote subnet, if one does. */
  withRemoteAddress(networkId: string, address: string): Endpoint | undefined {
    const row = this.prepare<[string, string], { endpoint_id: string }>(
      "SELECT endpoint_id FROM remote_addresses WHERE network_id = ? AND address = ?",
    ).get(networkId, address);
    return row === undefined ? undefined : this.find(row.endpoint_id);
  }

  /** Replaces the endpoint's address in one subnet (a DHCP lease), or removes it with null. */
  setLeasedAddress(endpointId: string, subnetId: number, address: string | null): void {
    this.prepare("DELETE FROM addresses WHERE endpoint_id = ? AND subnet_id = ?").run(endpointId, subnetId);
    if (address !== null) this.insertAddress(subnetId, address, endpointId);
  }

  addressCount(subnetId: number): number {
    return (
      this.prepare<[number], { n: number }>("SELECT count(*) AS n FROM addresses WHERE subnet_id = ?").get(
        subnetId,
      )?.n ?? 0
    );
  }

  // Port mappings

  /**
   * A mapping that would collide with one on (protocol, hostPort) bound to `hostIp` ("" = every address),
   * other than `exceptEndpoint`'s own.
   */
  conflictingPortMapping(
    protocol: Protocol,
    hostPort: number,
    hostIp: string,
    exceptEndpoint = "",
  ): PortMapping | undefined {
    const row = this.prepare<[string, number, string, string, string], PortMappingRow>(
      "SELECT * FROM port_mappings WHERE protocol = ? AND host_port = ? AND (host_ip = ? OR host_ip = '' OR ? = '') AND endpoint_id != ? LIMIT 1",
    ).get(protocol, hostPort, hostIp, hostIp, exceptEndpoint);
    return row === undefined ? undefined : toPortMapping(row);
  }

  deletePortMappings(endpointId: string): void {
    this.prepare("DELETE FROM port_mappings WHERE endpoint_id = ?").run(endpointId);
  }

  insertPortMapping(endpointId: string, m: PortMapping): void {
    this.prepare(
      "INSERT INTO port_mappings (endpoint_id, protocol, host_ip, host_port, internal_port) VALUES (?, ?, ?, ?, ?)",
    ).run(endpointId, m.protocol, m.hostIp ?? "", m.hostPort, m.internalPort);
  }
}

function toAttachment(row: EndpointRow): Attachment | null {
  if (row.namespace_id !== null && row.ifname !== null)
    return {
      kind: "namespace",
      namespaceId: row.namespace_id,
      ifname: row.ifname,
      order: row.attach_order ?? 1,
    };
  if (row.handoff_sandbox !== null) return { kind: "handoff", sandbox: row.handoff_sandbox };
  return null;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

const toAddress = (a: AddressRow): EndpointAddress => ({
  subnetId: a.subnet_id,
  family: a.family as Family,
  address: a.address,
  prefixLength: Number(a.prefix.split("/")[1]),
});

const toRemoteAddress = (a: RemoteAddressRow): EndpointAddress => ({
  subnetId: null,
  family: a.address.includes(":") ? 6 : 4,
  address: a.address,
  prefixLength: a.prefix_length,
});

const toPortMapping = (m: PortMappingRow): PortMapping => ({
  protocol: m.protocol as Protocol,
  hostIp: m.host_ip === "" ? null : m.host_ip,
  hostPort: m.host_port,
  internalPort: m.internal_port,
});
