/**
 * The new connections each backend of each load balancer got, from the kernel's counters: those of the
 * backend's elements of `lbBackends` and `lbNodeBackends` (one hit per new connection, since only a
 * connection's first packet is NATed), and for frontends with source-IP affinity the counter of the DNAT rule
 * of the backend's own chain (modes/load-balancer.ts). DSR load balancers translate nothing, so nothing
 * counts their connections: the kernel's multipath route picks their backends.
 */
import type { NftCounters } from "../dataplane/counters.js";
import { lbBackendCounterKey } from "../dataplane/naming.js";
import type { LbBackendConnections } from "../metrics/metrics.js";
import type { Endpoint, LoadBalancer } from "../model/types.js";
import { affinityBackendChain } from "../modes/load-balancer.js";

/** Whether these load balancers' counters need the rules listed: only affinity counts in rules. */
export const countedInRules = (lbs: readonly LoadBalancer[]): boolean =>
  lbs.some((lb) => !lb.dsr && lb.affinityTimeout !== null);

/** Every backend of every load balancer but DSR ones, with the connections it got; `endpoints` by id. */
export function lbConnections(
  lbs: readonly LoadBalancer[],
  endpoints: ReadonlyMap<string, Endpoint>,
  counters: NftCounters,
): LbBackendConnections[] {
  return lbs
    .filter((lb) => !lb.dsr)
    .flatMap((lb) =>
      lb.backends.flatMap((id) => {
        const ep = endpoints.get(id);
        // Deleted while the counters were read, after the load balancers were.
        if (ep === undefined) return [];
        const drawn = counters.elements.get(lbBackendCounterKey(lb.id, id))?.packets ?? 0;
        const affine =
          lb.affinityTimeout === null
            ? 0
            : ep.addresses.reduce(
                (sum, a) =>
                  sum + (counters.chains.get(affinityBackendChain(`lb:${lb.id}`, a.address))?.packets ?? 0),
                0,
              );
        return { loadBalancer: lb.id, name: lb.name, backend: ep.name, connections: drawn + affine };
      }),
    );
}
