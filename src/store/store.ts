/**
 * The store is the truth: every network, endpoint and namespace the user asked for, in SQLite.
 * better-sqlite3 is synchronous, so a write transaction can never interleave with an await; callers must
 * never pass an async function to `write`.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Family } from "../model/ip.js";
import type {
  Attachment,
  DetachedReason,
  Endpoint,
  EndpointAddress,
  Namespace,
  Network,
  NetworkType,
  Origin,
  PortMapping,
  Protocol,
  OverlaySettings,
  Subnet,
  UplinkSnapshot,
} from "../model/types.js";
import type { EndpointPolicy, NetworkPolicy } from "../model/policy.js";
import { DockerPoolStore } from "./docker-pools.js";
import { LoadBalancerStore } from "./load-balancers.js";
import { migrations } from "./migrations.js";
import type { Prepare } from "./statements.js";

interface NetworkRow {
  id: string;
  name: string;
  type: string;
  short_id: string;
  mtu: number;
  inter_container: number;
  policies: string;
  created_at: string;
  origin_kind: Origin["kind"] | null;
  origin_key: string | null;
  adapter: string | null;
  uplink: string | null;
  ipam: "static" | "dhcp";
  overlay: string | null;
}
interface SubnetRow {
  id: number;
  network_id: string;
  family: number;
  prefix: string;
  gateway: string;
  next_offset: string;
}
interface NamespaceRow {
  id: string;
  name: string;
  path: string;
  owned: number;
}
interface EndpointRow {
  id: string;
  name: string;
  network_id: string;
  short_id: string;
  mac: string;
  namespace_id: string | null;
  ifname: string | null;
  handoff_sandbox: string | null;
  remote_host: string | null;
  detached_reason: DetachedReason | null;
}
interface AddressRow {
  endpoint_id: string;
  subnet_id: number;
  address: string;
  family: number;
  prefix: string;
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

export interface NewNetwork {
  readonly id: string;
  readonly name: string;
  readonly type: NetworkType;
  readonly shortId: string;
  readonly mtu: number;
  readonly interContainer: boolean;
  readonly subnets: readonly { family: Family; prefix: string; gateway: string }[];
  readonly policies: readonly NetworkPolicy[];
  readonly adapter: string | null;
  readonly uplink: UplinkSnapshot | null;
  readonly ipam: "static" | "dhcp";
  readonly overlay: OverlaySettings | null;
}

export interface NewEndpoint {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly shortId: string;
  readonly mac: string;
  readonly attachment: Attachment | null;
  readonly remoteHost: string | null;
}

const NETWORK_SQL =
  "SELECT n.*, o.kind AS origin_kind, o.key AS origin_key FROM networks n LEFT JOIN network_origins o ON o.network_id = n.id";

export class Store {
  private readonly db: Database.Database;
  /** Compiled statements by SQL text: compiling costs more than running most of hostnet's queries. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
  }

  close(): void {
    this.db.close();
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    migrations.slice(version).forEach((sql, i) => {
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.pragma(`user_version = ${version + i + 1}`);
      })();
    });
  }

  /** A compiled statement; the repositories below get it, and no one outside src/store. */
  private readonly prepare: Prepare = <P extends unknown[] = unknown[], R = unknown>(
    sql: string,
  ): Database.Statement<P, R> => {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  };

  /** Load balancers and their backends. */
  readonly loadBalancers = new LoadBalancerStore(this.prepare);
  /** Docker's IPAM pools and their addresses. */
  readonly dockerPools = new DockerPoolStore(this.prepare);

  /** Runs `fn` in one immediate transaction: all of it lands, or none. */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  meta(key: string): string | undefined {
    return this.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  /**
   * This state directory's identity, made at first use: namespaces under /run/netns are seen by every
   * hostnetd on the machine, and each must know its own from another's.
   */
  instanceId(): string {
    const known = this.meta("instance");
    if (known !== undefined) return known;
    const id = randomBytes(8).toString("hex");
    this.setMeta("instance", id);
    return id;
  }

  // Networks

  insertNetwork(n: NewNetwork): void {
    this.prepare(
      "INSERT INTO networks (id, name, type, short_id, mtu, inter_container, policies, created_at, adapter, uplink, ipam, overlay) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      n.id,
      n.name,
      n.type,
      n.shortId,
      n.mtu,
      n.interContainer ? 1 : 0,
      JSON.stringify(n.policies),
      new Date().toISOString(),
      n.adapter,
      n.uplink === null ? null : JSON.stringify(n.uplink),
      n.ipam,
      n.overlay === null ? null : JSON.stringify(n.overlay),
    );
    const insertSubnet = this.prepare(
      "INSERT INTO subnets (network_id, family, prefix, gateway) VALUES (?, ?, ?, ?)",
    );
    for (const s of n.subnets) insertSubnet.run(n.id, s.family, s.prefix, s.gateway);
  }

  setNetworkOverlay(id: string, overlay: OverlaySettings): void {
    this.prepare("UPDATE networks SET overlay = ? WHERE id = ?").run(JSON.stringify(overlay), id);
  }

  setNetworkPolicies(id: string, policies: readonly NetworkPolicy[]): void {
    this.prepare("UPDATE networks SET policies = ? WHERE id = ?").run(JSON.stringify(policies), id);
  }

  deleteNetwork(id: string): void {
    this.prepare("DELETE FROM networks WHERE id = ?").run(id);
  }

  networks(): Network[] {
    const subnets = this.prepare<[], SubnetRow>("SELECT * FROM subnets ORDER BY id").all();
    return this.prepare<[], NetworkRow>(`${NETWORK_SQL} ORDER BY created_at, name`)
      .all()
      .map((row) => toNetwork(row, subnets));
  }

  network(ref: string): Network | undefined {
    const row = this.prepare<[string, string], NetworkRow>(`${NETWORK_SQL} WHERE id = ? OR name = ?`).get(
      ref,
      ref,
    );
    if (row === undefined) return undefined;
    const subnets = this.prepare<[string], SubnetRow>(
      "SELECT * FROM subnets WHERE network_id = ? ORDER BY id",
    ).all(row.id);
    return toNetwork(row, subnets);
  }

  /** Records which client made a network, under the client's own key for it (Docker: its network id). */
  insertNetworkOrigin(networkId: string, origin: Origin): void {
    this.prepare("INSERT INTO network_origins (network_id, kind, key) VALUES (?, ?, ?)").run(
      networkId,
      origin.kind,
      origin.key,
    );
  }

  networkIdByOrigin(origin: Origin): string | undefined {
    return this.prepare<[string, string], { network_id: string }>(
      "SELECT network_id FROM network_origins WHERE kind = ? AND key = ?",
    ).get(origin.kind, origin.key)?.network_id;
  }

  /** An uplink to give back its addresses and routes once its network's bridge is gone. */
  insertUplinkRestore(snapshot: UplinkSnapshot): void {
    this.prepare("INSERT OR REPLACE INTO uplink_restores (dev, snapshot) VALUES (?, ?)").run(
      snapshot.dev,
      JSON.stringify(snapshot),
    );
  }

  uplinkRestores(): UplinkSnapshot[] {
    return this.prepare<[], { snapshot: string }>("SELECT snapshot FROM uplink_restores ORDER BY dev")
      .all()
      .map((r) => JSON.parse(r.snapshot) as UplinkSnapshot);
  }

  deleteUplinkRestore(dev: string): void {
    this.prepare("DELETE FROM uplink_restores WHERE dev = ?").run(dev);
  }

  networkShortIdTaken(shortId: string): boolean {
    return this.prepare("SELECT 1 FROM networks WHERE short_id = ?").get(shortId) !== undefined;
  }

  /** The allocation cursor of a subnet: the offset to try first, so allocation is O(1) amortised. */
  subnetCursor(subnetId: number): bigint {
    const row = this.prepare<[number], { next_offset: string }>(
      "SELECT next_offset FROM subnets WHERE id = ?",
    ).get(subnetId);
    return BigInt(row?.next_offset ?? "0");
  }

  setSubnetCursor(subnetId: number, offset: bigint): void {
    this.prepare("UPDATE subnets SET next_offset = ? WHERE id = ?").run(offset.toString(), subnetId);
  }

  /** The address blocks of an overlay network this host has claimed in the cluster, oldest first. */
  overlayBlocks(networkId: string): string[] {
    return this.prepare<[string], { prefix: string }>(
      "SELECT prefix FROM overlay_blocks WHERE network_id = ? ORDER BY rowid",
    )
      .all(networkId)
      .map((r) => r.prefix);
  }

  insertOverlayBlock(networkId: string, prefix: string): void {
    this.prepare("INSERT OR IGNORE INTO overlay_blocks (network_id, prefix) VALUES (?, ?)").run(
      networkId,
      prefix,
    );
  }

  // Namespaces

  insertNamespace(ns: Namespace): void {
    this.prepare("INSERT INTO namespaces (id, name, path, owned) VALUES (?, ?, ?, ?)").run(
      ns.id,
      ns.name,
      ns.path,
      ns.owned ? 1 : 0,
    );
  }

  deleteNamespace(id: string): void {
    this.prepare("DELETE FROM namespaces WHERE id = ?").run(id);
  }

  namespaces(): Namespace[] {
    return this.prepare<[], NamespaceRow>("SELECT * FROM namespaces ORDER BY name").all().map(toNamespace);
  }

  namespace(ref: string): Namespace | undefined {
    const row = this.prepare<[string, string, string], NamespaceRow>(
      "SELECT * FROM namespaces WHERE id = ? OR name = ? OR path = ?",
    ).get(ref, ref, ref);
    return row === undefined ? undefined : toNamespace(row);
  }

  // Endpoints

  insertEndpoint(e: NewEndpoint): void {
    this.prepare(
      "INSERT INTO endpoints (id, name, network_id, short_id, mac, remote_host) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(e.id, e.name, e.networkId, e.shortId, e.mac, e.remoteHost);
    if (e.attachment !== null) this.setAttachment(e.id, e.attachment);
  }

  /** `reason`: why hostnet detached it by itself; any other change of attachment clears it. */
  setAttachment(endpointId: string, attachment: Attachment | null, reason?: DetachedReason): void {
    const inNamespace = attachment?.kind === "namespace" ? attachment : undefined;
    this.prepare(
      "UPDATE endpoints SET namespace_id = ?, ifname = ?, handoff_sandbox = ?, detached_reason = ? WHERE id = ?",
    ).run(
      inNamespace?.namespaceId ?? null,
      inNamespace?.ifname ?? null,
      attachment?.kind === "handoff" ? attachment.sandbox : null,
      attachment === null ? (reason ?? null) : null,
      endpointId,
    );
  }

  deleteEndpoint(id: string): void {
    this.prepare("DELETE FROM endpoints WHERE id = ?").run(id);
  }

  endpointShortIdTaken(shortId: string): boolean {
    return this.prepare("SELECT 1 FROM endpoints WHERE short_id = ?").get(shortId) !== undefined;
  }

  endpoints(filter: { networkId?: string; namespaceId?: string } = {}): Endpoint[] {
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

  endpoint(ref: string): Endpoint | undefined {
    const row = this.prepare<[string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE id = ? OR name = ?",
    ).get(ref, ref);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  /** Another host's endpoint on the network with this MAC, which each of its addresses joins. */
  remoteEndpoint(networkId: string, host: string, mac: string): Endpoint | undefined {
    const row = this.prepare<[string, string, string], EndpointRow>(
      "SELECT * FROM endpoints WHERE network_id = ? AND remote_host = ? AND mac = ?",
    ).get(networkId, host, mac);
    return row === undefined ? undefined : this.hydrate([row])[0];
  }

  endpointAt(namespaceId: string, ifname: string): Endpoint | undefined {
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
    const policiesOf = groupBy(policies, (p) => p.endpoint_id);
    const addressesOf = groupBy(addresses, (a) => a.endpoint_id);
    const mappingsOf = groupBy(mappings, (m) => m.endpoint_id);
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      networkId: row.network_id,
      shortId: row.short_id,
      mac: row.mac,
      attachment: toAttachment(row),
      ...(row.detached_reason === null ? {} : { detachedReason: row.detached_reason }),
      remoteHost: row.remote_host,
      addresses: (addressesOf.get(row.id) ?? []).map(toAddress),
      portMappings: (mappingsOf.get(row.id) ?? []).map(toPortMapping),
      policies: (policiesOf.get(row.id) ?? []).map((p) => JSON.parse(p.policy) as EndpointPolicy),
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

  endpointIdByOrigin(origin: Origin): string | undefined {
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
  endpointWithAddress(subnetId: number, address: string): Endpoint | undefined {
    const row = this.prepare<[number, string], { endpoint_id: string }>(
      "SELECT endpoint_id FROM addresses WHERE subnet_id = ? AND address = ?",
    ).get(subnetId, address);
    return row === undefined ? undefined : this.endpoint(row.endpoint_id);
  }

  insertAddress(subnetId: number, address: string, endpointId: string): void {
    this.prepare("INSERT INTO addresses (subnet_id, address, endpoint_id) VALUES (?, ?, ?)").run(
      subnetId,
      address,
      endpointId,
    );
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
    return { kind: "namespace", namespaceId: row.namespace_id, ifname: row.ifname };
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

function toNetwork(row: NetworkRow, subnets: readonly SubnetRow[]): Network {
  return {
    id: row.id,
    name: row.name,
    type: row.type as NetworkType,
    shortId: row.short_id,
    mtu: row.mtu,
    interContainer: row.inter_container === 1,
    policies: JSON.parse(row.policies) as NetworkPolicy[],
    createdAt: row.created_at,
    adapter: row.adapter,
    ipam: row.ipam,
    uplink: row.uplink === null ? null : (JSON.parse(row.uplink) as UplinkSnapshot),
    // Networks recorded before source addresses existed have none yet.
    overlay:
      row.overlay === null
        ? null
        : ({
            sourceAddress: null,
            ...(JSON.parse(row.overlay) as Partial<OverlaySettings>),
          } as OverlaySettings),
    origin:
      row.origin_kind === null || row.origin_key === null
        ? null
        : { kind: row.origin_kind, key: row.origin_key },
    subnets: subnets.filter((s) => s.network_id === row.id).map(toSubnet),
  };
}

const toSubnet = (s: SubnetRow): Subnet => ({
  id: s.id,
  family: s.family as Family,
  prefix: s.prefix,
  gateway: s.gateway,
});

const toNamespace = (row: NamespaceRow): Namespace => ({
  id: row.id,
  name: row.name,
  path: row.path,
  owned: row.owned === 1,
});

const toAddress = (a: AddressRow): EndpointAddress => ({
  subnetId: a.subnet_id,
  family: a.family as Family,
  address: a.address,
  prefixLength: Number(a.prefix.split("/")[1]),
});

const toPortMapping = (m: PortMappingRow): PortMapping => ({
  protocol: m.protocol as Protocol,
  hostIp: m.host_ip === "" ? null : m.host_ip,
  hostPort: m.host_port,
  internalPort: m.internal_port,
});
