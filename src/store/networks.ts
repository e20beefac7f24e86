/**
 * Networks in the store's database: their subnets (with each one's allocation cursor), the client that
 * made them, an overlay network's address blocks, and the uplinks to give back once a network is gone.
 */
import type { Family } from "../model/ip.js";
import {
  noDns,
  type DnsSettings,
  type Network,
  type NetworkType,
  type Origin,
  type OverlaySettings,
  type Subnet,
  type UplinkSnapshot,
} from "../model/types.js";
import type { NetworkPolicy } from "../policies/index.js";
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
  dns: string | null;
  resolver: number;
}
interface SubnetRow {
  id: number;
  network_id: string;
  family: number;
  prefix: string;
  gateway: string;
  next_offset: string;
}

/** A network as it is recorded: what the store gives it (ids of subnets, time, origin) comes later. */
export type NewNetwork = Omit<Network, "subnets" | "createdAt" | "origin"> & {
  readonly subnets: readonly Omit<Subnet, "id">[];
};

const NETWORK_SQL =
  "SELECT n.*, o.kind AS origin_kind, o.key AS origin_key FROM networks n LEFT JOIN network_origins o ON o.network_id = n.id";

export class NetworkStore {
  constructor(private readonly prepare: Prepare) {}

  insert(n: NewNetwork): void {
    this.prepare(
      "INSERT INTO networks (id, name, type, short_id, mtu, inter_container, policies, created_at, adapter, uplink, ipam, overlay, dns, resolver) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
      JSON.stringify(n.dns),
      n.resolver ? 1 : 0,
    );
    const insertSubnet = this.prepare(
      "INSERT INTO subnets (network_id, family, prefix, gateway) VALUES (?, ?, ?, ?)",
    );
    for (const s of n.subnets) insertSubnet.run(n.id, s.family, s.prefix, s.gateway);
  }

  setOverlay(id: string, overlay: OverlaySettings): void {
    this.prepare("UPDATE networks SET overlay = ? WHERE id = ?").run(JSON.stringify(overlay), id);
  }

  setPolicies(id: string, policies: readonly NetworkPolicy[]): void {
    this.prepare("UPDATE networks SET policies = ? WHERE id = ?").run(JSON.stringify(policies), id);
  }

  delete(id: string): void {
    this.prepare("DELETE FROM networks WHERE id = ?").run(id);
  }

  all(): Network[] {
    const subnets = this.prepare<[], SubnetRow>("SELECT * FROM subnets ORDER BY id").all();
    return this.prepare<[], NetworkRow>(`${NETWORK_SQL} ORDER BY created_at, name`)
      .all()
      .map((row) => toNetwork(row, subnets));
  }

  /** The network with this id or name. */
  find(ref: string): Network | undefined {
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
  insertOrigin(networkId: string, origin: Origin): void {
    this.prepare("INSERT INTO network_origins (network_id, kind, key) VALUES (?, ?, ?)").run(
      networkId,
      origin.kind,
      origin.key,
    );
  }

  idByOrigin(origin: Origin): string | undefined {
    return this.prepare<[string, string], { network_id: string }>(
      "SELECT network_id FROM network_origins WHERE kind = ? AND key = ?",
    ).get(origin.kind, origin.key)?.network_id;
  }

  shortIdTaken(shortId: string): boolean {
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
    dns: row.dns === null ? noDns : (JSON.parse(row.dns) as DnsSettings),
    resolver: row.resolver === 1,
  };
}

const toSubnet = (s: SubnetRow): Subnet => ({
  id: s.id,
  family: s.family as Family,
  prefix: s.prefix,
  gateway: s.gateway,
});
