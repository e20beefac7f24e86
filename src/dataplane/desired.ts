/**
 * The kernel state the store asks for: a pure function of the store's records and the network modes.
 */
import type { Endpoint, LoadBalancer, Namespace, Network } from "../model/types.js";
import { loadBalancerObjects } from "../modes/load-balancer.js";
import { modes } from "../modes/index.js";
import { resolvConfText, writesResolvConf } from "../dns/resolv-conf.js";
import { nftFamilies } from "./nft-sets.js";
import type { KernelObject } from "./objects.js";
import { skeletonRules, skeletonVersion } from "./render/nft.js";

export interface StoreSnapshot {
  readonly networks: readonly Network[];
  readonly endpoints: readonly Endpoint[];
  readonly namespaces: readonly Namespace[];
  readonly loadBalancers: readonly LoadBalancer[];
  /** The store's instance id, which marks the namespaces it makes. */
  readonly instance: string;
}

export function globalObjects(): KernelObject[] {
  const version = skeletonVersion();
  return [
    ...nftFamilies.map((family): KernelObject => ({
      kind: "nftTable",
      owner: "global",
      family,
      version,
      rules: skeletonRules(family),
    })),
    { kind: "sysctl", owner: "global", key: "net/ipv4/ip_forward", value: "1" },
    { kind: "sysctl", owner: "global", key: "net/ipv6/conf/all/forwarding", value: "1" },
  ];
}

export function desiredState(snapshot: StoreSnapshot): KernelObject[] {
  const networks = new Map(snapshot.networks.map((n) => [n.id, n]));
  const namespaces = new Map(snapshot.namespaces.map((n) => [n.id, n]));
  const objects = globalObjects();
  const attachedTo = new Map<string, Endpoint[]>();
  for (const ep of snapshot.endpoints)
    if (ep.attachment?.kind === "namespace")
      attachedTo.set(ep.attachment.namespaceId, [...(attachedTo.get(ep.attachment.namespaceId) ?? []), ep]);
  for (const ns of snapshot.namespaces)
    objects.push(
      ...namespaceObjects(ns, attachedTo.get(ns.id) ?? [], (id) => networks.get(id), snapshot.instance),
    );
  for (const net of snapshot.networks) objects.push(...networkObjects(net));
  for (const ep of snapshot.endpoints) {
    const net = networks.get(ep.networkId);
    if (net !== undefined) objects.push(...endpointObjects(ep, net, (id) => namespaces.get(id)));
  }
  const endpoints = new Map(snapshot.endpoints.map((e) => [e.id, e]));
  for (const lb of snapshot.loadBalancers)
    objects.push(
      ...lbObjects(
        lb,
        (id) => endpoints.get(id),
        (id) => namespaces.get(id),
      ),
    );
  return objects;
}

/** A network's objects: its mode's, and its resolver's listeners on its gateway addresses. */
export function networkObjects(net: Network): KernelObject[] {
  const owner = `net:${net.id}` as const;
  return [
    ...modes[net.type].networkObjects(net),
    ...(net.resolver
      ? net.subnets.map((s): KernelObject => ({ kind: "dnsListener", owner, address: s.gateway }))
      : []),
  ];
}

/** A namespace's own objects: the namespace, if hostnet made it, and its resolv.conf, if hostnet writes it. */
export function namespaceObjects(
  ns: Namespace,
  attached: readonly Endpoint[],
  network: (id: string) => Network | undefined,
  instance: string,
): KernelObject[] {
  const owner = `ns:${ns.id}` as const;
  const objects: KernelObject[] = ns.owned ? [{ kind: "netns", owner, name: ns.name, instance }] : [];
  if (!writesResolvConf(ns)) return objects;
  const text = resolvConfText(
    attached.flatMap((endpoint) => {
      const net = network(endpoint.networkId);
      return net === undefined ? [] : [{ endpoint, network: net }];
    }),
  );
  if (text !== undefined) objects.push({ kind: "resolvConf", owner, netns: ns.name, instance, text });
  return objects;
}

/** A load balancer's objects, with the backends the store still has. */
export function lbObjects(
  lb: LoadBalancer,
  endpoint: (id: string) => Endpoint | undefined,
  namespace: (id: string) => Namespace | undefined,
): KernelObject[] {
  return loadBalancerObjects(
    lb,
    lb.backends.flatMap((id) => {
      const ep = endpoint(id);
      if (ep === undefined) return [];
      const ns = ep.attachment?.kind === "namespace" ? namespace(ep.attachment.namespaceId) : undefined;
      return [{ endpoint: ep, netns: ns?.path }];
    }),
  );
}

/** One endpoint's objects: none while it is detached, or attached to a namespace the store no longer has. */
export function endpointObjects(
  ep: Endpoint,
  net: Network,
  namespace: (id: string) => Namespace | undefined,
): KernelObject[] {
  if (ep.remoteHost !== null) return modes[net.type].endpointObjects(ep, net, null);
  if (ep.attachment === null) return [];
  if (ep.attachment.kind === "handoff") return modes[net.type].endpointObjects(ep, net, null);
  const ns = namespace(ep.attachment.namespaceId);
  return ns === undefined ? [] : modes[net.type].endpointObjects(ep, net, ns);
}
