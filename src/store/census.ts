/**
 * Counts and labels for metrics, read in one query each: a scrape must not hydrate 10,000 endpoints to
 * count them.
 */
import type { Prepare } from "./statements.js";

/** How many objects of a kind are in a state (a network's mode, an endpoint's attachment, ...). */
export interface ObjectCount {
  readonly kind: "network" | "endpoint" | "namespace" | "loadbalancer";
  readonly state: string;
  readonly count: number;
}

/** An endpoint of this host with its host-side veth, by which its traffic is counted. */
export interface EndpointLink {
  readonly endpoint: string;
  readonly network: string;
  readonly shortId: string;
}

export class CensusStore {
  constructor(private readonly prepare: Prepare) {}

  objects(): ObjectCount[] {
    return this.prepare<[], ObjectCount>(
      `SELECT 'network' AS kind, type AS state, count(*) AS count FROM networks GROUP BY type
       UNION ALL
       SELECT 'endpoint', CASE
           WHEN remote_host IS NOT NULL THEN 'remote'
           WHEN namespace_id IS NOT NULL THEN 'attached'
           WHEN handoff_sandbox IS NOT NULL THEN 'handed-off'
           ELSE 'detached' END AS state, count(*) FROM endpoints GROUP BY state
       UNION ALL
       SELECT 'namespace', CASE owned WHEN 1 THEN 'owned' ELSE 'adopted' END AS state, count(*)
         FROM namespaces GROUP BY state
       UNION ALL
       SELECT 'loadbalancer', 'present', count(*) FROM load_balancers`,
    ).all();
  }

  /** Endpoints whose veth exists: those attached to a namespace or handed off to a runtime. */
  endpointLinks(): EndpointLink[] {
    return this.prepare<[], EndpointLink>(
      `SELECT e.name AS endpoint, n.name AS network, e.short_id AS shortId
         FROM endpoints e JOIN networks n ON n.id = e.network_id
        WHERE e.remote_host IS NULL AND (e.namespace_id IS NOT NULL OR e.handoff_sandbox IS NOT NULL)`,
    ).all();
  }

  /** Endpoints with an ACL policy of their own, whose rules count what they match. */
  endpointsWithAcls(): string[] {
    return this.prepare<[], { id: string }>(
      `SELECT DISTINCT endpoint_id AS id FROM endpoint_policies WHERE json_extract(policy, '$.type') = 'ACL'`,
    )
      .all()
      .map((r) => r.id);
  }
}
