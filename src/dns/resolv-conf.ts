/**
 * The resolv.conf of a namespace: what its endpoints' DNS settings say, each endpoint's own over its
 * network's, with the network's resolver (its gateways) as nameserver where it runs one (docs/dns.md).
 */
import { NETNS_DIR } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import { dnsLimits, effectiveDns } from "./settings.js";

/**
 * Whether hostnet writes the namespace's resolv.conf: one it made, or adopted under the name it has in
 * /run/netns, which `ip netns exec` finds it by. Runtimes that name their namespaces otherwise (CNI, Docker)
 * write their containers' resolv.conf themselves from what hostnet returns.
 */
export const writesResolvConf = (ns: Namespace): boolean => ns.path === `${NETNS_DIR}/${ns.name}`;

/** The nameservers of an endpoint: its own, else its network's resolver, else the network's servers. */
export function nameserversOf(ep: Endpoint, net: Network): readonly string[] {
  if (ep.dns.servers.length > 0) return ep.dns.servers;
  if (net.resolver) return [...net.subnets].sort((a, b) => a.family - b.family).map((s) => s.gateway);
  return net.dns.servers;
}

/** The file's text after its mark, or undefined when the settings say nothing (no file then). */
export function resolvConfText(
  attached: readonly { endpoint: Endpoint; network: Network }[],
): string | undefined {
  const servers = new Set<string>();
  const search = new Set<string>();
  const options = new Set<string>();
  for (const { endpoint, network } of attached) {
    const dns = effectiveDns(endpoint.dns, network.dns);
    for (const s of nameserversOf(endpoint, network)) servers.add(s);
    for (const d of dns.search.length > 0 ? dns.search : dns.domain === null ? [] : [dns.domain])
      search.add(d);
    for (const o of dns.options) options.add(o);
  }
  if (servers.size + search.size + options.size === 0) return undefined;
  const lines = [
    ...[...servers].slice(0, dnsLimits.servers).map((s) => `nameserver ${s}`),
    ...(search.size === 0 ? [] : [`search ${[...search].slice(0, dnsLimits.search).join(" ")}`]),
    ...(options.size === 0 ? [] : [`options ${[...options].join(" ")}`]),
  ];
  return `${lines.join("\n")}\n`;
}
