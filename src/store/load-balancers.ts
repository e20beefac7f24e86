/** Load balancers and their backends, in the store's database. */
import type { LbPortMapping, LoadBalancer, Protocol } from "../model/types.js";
import type { Prepare } from "./statements.js";

interface LbRow {
  id: string;
  name: string;
  vips: string;
  port_mappings: string;
  internal: number;
  created_at: string;
  source_vip: string | null;
  dsr: number;
  ipv6: number;
  affinity_timeout: number | null;
}

export class LoadBalancerStore {
  constructor(private readonly prepare: Prepare) {}

  insert(lb: Omit<LoadBalancer, "backends" | "createdAt">, backends: readonly string[]): void {
    this.prepare(
      "INSERT INTO load_balancers (id, name, vips, port_mappings, internal, created_at, source_vip, dsr, ipv6, affinity_timeout) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      lb.id,
      lb.name,
      JSON.stringify(lb.vips),
      JSON.stringify(lb.portMappings),
      lb.internal ? 1 : 0,
      new Date().toISOString(),
      lb.sourceVip,
      lb.dsr ? 1 : 0,
      lb.ipv6 ? 1 : 0,
      lb.affinityTimeout,
    );
    for (const ep of backends) this.addBackend(lb.id, ep);
  }

  /**
   * Makes a load balancer's row and backends `lb` and `backends`; the backends it keeps keep their place in
   * its order, new ones come after them.
   */
  replace(lb: Omit<LoadBalancer, "backends" | "createdAt">, backends: readonly string[]): void {
    this.prepare(
      "UPDATE load_balancers SET name = ?, vips = ?, port_mappings = ?, internal = ?, source_vip = ?, dsr = ?, ipv6 = ?, affinity_timeout = ? WHERE id = ?",
    ).run(
      lb.name,
      JSON.stringify(lb.vips),
      JSON.stringify(lb.portMappings),
      lb.internal ? 1 : 0,
      lb.sourceVip,
      lb.dsr ? 1 : 0,
      lb.ipv6 ? 1 : 0,
      lb.affinityTimeout,
      lb.id,
    );
    const before = this.find(lb.id)?.backends ?? [];
    for (const ep of before) if (!backends.includes(ep)) this.removeBackend(lb.id, ep);
    for (const ep of backends) if (!before.includes(ep)) this.addBackend(lb.id, ep);
  }

  delete(id: string): void {
    this.prepare("DELETE FROM load_balancers WHERE id = ?").run(id);
  }

  /** Every load balancer, its backends read in one query however many there are. */
  all(): LoadBalancer[] {
    const backends = new Map<string, string[]>();
    for (const r of this.prepare<[], { lb_id: string; endpoint_id: string }>(
      "SELECT lb_id, endpoint_id FROM lb_backends ORDER BY seq",
    ).all()) {
      const of = backends.get(r.lb_id);
      if (of === undefined) backends.set(r.lb_id, [r.endpoint_id]);
      else of.push(r.endpoint_id);
    }
    return this.prepare<[], LbRow>("SELECT * FROM load_balancers ORDER BY created_at, name")
      .all()
      .map((row) => toLoadBalancer(row, backends.get(row.id) ?? []));
  }

  find(ref: string): LoadBalancer | undefined {
    const row = this.prepare<[string, string], LbRow>(
      "SELECT * FROM load_balancers WHERE id = ? OR name = ?",
    ).get(ref, ref);
    return row === undefined ? undefined : this.hydrate(row);
  }

  /**
   * The load balancers with any of these VIPs. Rows are found by the VIP's text in their JSON (a quoted
   * address matches no other) and checked parsed: parsing every row's VIPs made each create cost more with
   * each load balancer.
   */
  withVips(vips: readonly string[]): LoadBalancer[] {
    if (vips.length === 0) return [];
    const wanted = new Set(vips);
    const anyVip = vips.map(() => "instr(vips, ?) > 0").join(" OR ");
    return this.prepare<string[], LbRow>(
      `SELECT * FROM load_balancers WHERE ${anyVip} ORDER BY created_at, name`,
    )
      .all(...vips.map((vip) => JSON.stringify(vip)))
      .filter((row) => (JSON.parse(row.vips) as string[]).some((v) => wanted.has(v)))
      .map((row) => this.hydrate(row));
  }

  /** NodePort load balancers: those without VIPs. */
  withoutVips(): LoadBalancer[] {
    return this.prepare<[], LbRow>("SELECT * FROM load_balancers WHERE vips = '[]' ORDER BY created_at, name")
      .all()
      .map((row) => this.hydrate(row));
  }

  /** The NodePort load balancer (no VIPs) of either family that serves this protocol and port, if any. */
  withNodePort(protocol: Protocol, port: number): LoadBalancer | undefined {
    const row = this.prepare<[string, number], LbRow>(
      "SELECT * FROM load_balancers WHERE vips = '[]' AND EXISTS (SELECT 1 FROM json_each(load_balancers.port_mappings) AS m WHERE json_extract(m.value, '$.protocol') = ? AND json_extract(m.value, '$.externalPort') = ?) ORDER BY created_at, name LIMIT 1",
    ).get(protocol, port);
    return row === undefined ? undefined : this.hydrate(row);
  }

  /** The ids of the load balancers that have this endpoint as a backend. */
  withBackend(endpointId: string): string[] {
    return this.prepare<[string], { lb_id: string }>("SELECT lb_id FROM lb_backends WHERE endpoint_id = ?")
      .all(endpointId)
      .map((r) => r.lb_id);
  }

  addBackend(lbId: string, endpointId: string): void {
    this.prepare(
      "INSERT INTO lb_backends (lb_id, endpoint_id, seq) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM lb_backends WHERE lb_id = ?))",
    ).run(lbId, endpointId, lbId);
  }

  removeBackend(lbId: string, endpointId: string): void {
    this.prepare("DELETE FROM lb_backends WHERE lb_id = ? AND endpoint_id = ?").run(lbId, endpointId);
  }

  private hydrate(row: LbRow): LoadBalancer {
    const backends = this.prepare<[string], { endpoint_id: string }>(
      "SELECT endpoint_id FROM lb_backends WHERE lb_id = ? ORDER BY seq",
    )
      .all(row.id)
      .map((r) => r.endpoint_id);
    return toLoadBalancer(row, backends);
  }
}

function toLoadBalancer(row: LbRow, backends: readonly string[]): LoadBalancer {
  return {
    id: row.id,
    name: row.name,
    vips: JSON.parse(row.vips) as string[],
    // Rows from before affinity, LocalRoutedVip and kept flags lack them: none was possible then.
    portMappings: (JSON.parse(row.port_mappings) as Partial<LbPortMapping>[]).map((m): LbPortMapping => ({
      protocol: m.protocol ?? "tcp",
      externalPort: m.externalPort ?? 0,
      internalPort: m.internalPort ?? 0,
      affinity: m.affinity ?? false,
      localRoutedVip: m.localRoutedVip ?? false,
      keptFlags: m.keptFlags ?? 0,
    })),
    backends,
    internal: row.internal === 1,
    sourceVip: row.source_vip,
    dsr: row.dsr === 1,
    ipv6: row.ipv6 === 1,
    affinityTimeout: row.affinity_timeout,
    createdAt: row.created_at,
  };
}
