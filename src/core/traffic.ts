/**
 * What endpoints received, sent and had dropped, from the kernel's counters: those of the host end of each
 * endpoint's veth (what it transmits is what the container receives) and those of its ACL rules; for a
 * scrape, with the connections of load balancers' backends, read in the same listing of nft's counters.
 */
import { endpointHostInterface } from "./kernel-names.js";
import type { LinkStats } from "../dataplane/linux/link-stats.js";
import type { AclRuleHits, EndpointTraffic, KernelCounters } from "../metrics/metrics.js";
import type { Endpoint, Network } from "../model/types.js";
import type { Counter } from "../dataplane/counters.js";
import { policyCounters } from "../policies/objects.js";
import { getEndpoint, getNetwork, type Core } from "./context.js";
import { countedInRules, lbConnections } from "./lb-connections.js";

/**
 * The ACL rules of these endpoints with the packets each matched: `totals`, the kernel's element counters.
 * `networks`: the endpoints' networks, by id.
 */
function aclHitsOf(
  endpoints: readonly Endpoint[],
  networks: ReadonlyMap<string, Network>,
  totals: ReadonlyMap<string, Counter>,
): AclRuleHits[] {
  const withNetwork = endpoints.flatMap((ep) => {
    const net = networks.get(ep.networkId);
    return net === undefined ? [] : [{ ep, net }];
  });
  return withNetwork.flatMap(({ ep, net }) =>
    policyCounters(ep, totals).flatMap(({ policy, counter }, rule) =>
      policy.type === "ACL" && counter !== null
        ? [
            {
              endpoint: ep.name,
              network: net.name,
              rule,
              action: policy.action,
              direction: policy.direction,
              packets: counter.packets,
            },
          ]
        : [],
    ),
  );
}

/** These endpoints by id, hydrated in one pass when they are many. */
function endpointsById(core: Core, ids: ReadonlySet<string>): Map<string, Endpoint> {
  const endpoints =
    ids.size < 10
      ? [...ids].map((id) => getEndpoint(core, id))
      : core.store.endpoints.all().filter((ep) => ids.has(ep.id));
  return new Map(endpoints.map((ep) => [ep.id, ep]));
}

/** Packets an endpoint's Block rules dropped, by direction. */
function blocked(hits: readonly AclRuleHits[]): Map<string, { in: number; out: number }> {
  const out = new Map<string, { in: number; out: number }>();
  for (const h of hits) {
    if (h.action !== "Block") continue;
    const sum = out.get(h.endpoint) ?? { in: 0, out: 0 };
    if (h.direction === "In") sum.in += h.packets;
    else sum.out += h.packets;
    out.set(h.endpoint, sum);
  }
  return out;
}

function traffic(
  link: { endpoint: string; network: string },
  stats: LinkStats | undefined,
  acl: { in: number; out: number } | undefined,
): EndpointTraffic {
  return {
    ...link,
    receivedBytes: stats?.txBytes ?? 0,
    receivedPackets: stats?.txPackets ?? 0,
    sentBytes: stats?.rxBytes ?? 0,
    sentPackets: stats?.rxPackets ?? 0,
    dropped: [
      { direction: "in", reason: "interface", packets: stats?.txDropped ?? 0 },
      { direction: "out", reason: "interface", packets: stats?.rxDropped ?? 0 },
      { direction: "in", reason: "acl", packets: acl?.in ?? 0 },
      { direction: "out", reason: "acl", packets: acl?.out ?? 0 },
    ],
  };
}

/**
 * Every endpoint of this host that has a veth with its traffic, every ACL rule that counts with its hits,
 * and every backend of a load balancer with its connections: one read of the links, one of nft.
 */
export async function kernelCounters(core: Core): Promise<KernelCounters> {
  const lbs = core.store.loadBalancers.all();
  const [links, counted] = await Promise.all([
    core.host.linkStats(),
    core.reconciler.nftCounters(countedInRules(lbs)),
  ]);
  const networks = new Map(core.store.networks.all().map((n) => [n.id, n]));
  // The endpoints with ACLs of their own and the backends, hydrated together.
  const withAcls = core.store.census.endpointsWithAcls();
  const endpoints = endpointsById(core, new Set([...withAcls, ...lbs.flatMap((lb) => lb.backends)]));
  const aclHits = aclHitsOf(
    withAcls.flatMap((id) => endpoints.get(id) ?? []),
    networks,
    counted.elements,
  );
  const acl = blocked(aclHits);
  return {
    traffic: core.store.census
      .endpointLinks()
      .map((l) => traffic(l, links.get(endpointHostInterface(l)), acl.get(l.endpoint))),
    aclHits,
    lbConnections: lbConnections(lbs, endpoints, counted),
  };
}

/** One endpoint's traffic; zero for an endpoint without a veth (detached, or another host's). */
export async function endpointStats(core: Core, ref: string): Promise<EndpointTraffic & { id: string }> {
  const ep = getEndpoint(core, ref);
  const net = getNetwork(core, ep.networkId);
  const [links, counted] = await Promise.all([core.host.linkStats(), core.reconciler.nftCounters(false)]);
  const hits = aclHitsOf([ep], new Map([[net.id, net]]), counted.elements);
  const stats = ep.remoteHost === null ? links.get(endpointHostInterface(ep)) : undefined;
  const link = { endpoint: ep.name, network: net.name };
  return { id: ep.id, ...traffic(link, stats, blocked(hits).get(ep.name)) };
}
