/**
 * The kernel objects of the policies in force, composed from the kinds: what the modes ask for an endpoint
 * and for a network, and where an endpoint's policies count what they matched.
 */
import type { Counter } from "../dataplane/counters.js";
import type { KernelObject } from "../dataplane/objects.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import {
  allPolicyKinds,
  isEndpointPolicy,
  kindOf,
  singletonPolicies,
  type AnyPolicyKind,
  type EndpointPolicy,
  type NetworkPolicy,
} from "./index.js";

/**
 * The policies in force on an endpoint: its own, then its network's, except a network singleton (QOS,
 * OutBoundNAT) the endpoint has its own of. ACLs of both apply together (see acl-elements.ts for their
 * order).
 */
export function effectivePolicies(
  own: readonly EndpointPolicy[],
  network: readonly NetworkPolicy[],
): EndpointPolicy[] {
  const overridden = (p: EndpointPolicy): boolean =>
    singletonPolicies.includes(p.type) && own.some((o) => o.type === p.type);
  return [...own, ...network.filter(isEndpointPolicy).filter((p) => !overridden(p))];
}

const ofKind = <P extends NetworkPolicy>(kind: AnyPolicyKind, policies: readonly P[]): P[] =>
  policies.filter((p) => p.type === kind.type);

/** What the policies in force add to an attached endpoint (`ns` null: handed off to a runtime). */
export function endpointPolicyObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
  if (ep.attachment === null) return [];
  const inForce = effectivePolicies(ep.policies, net.policies);
  return allPolicyKinds.flatMap(
    (kind) => kind.endpointObjects?.({ ep, net, ns, policies: ofKind(kind, inForce) }) ?? [],
  );
}

/** What a network's own policies add to it. */
export const networkPolicyObjects = (net: Network): KernelObject[] =>
  allPolicyKinds.flatMap((kind) => kind.networkObjects?.(ofKind(kind, net.policies), net) ?? []);

/** The endpoint's policies, each with what it matched when its kind counts: `totals` by counter key. */
export const policyCounters = (
  ep: Endpoint,
  totals: ReadonlyMap<string, Counter>,
): { policy: EndpointPolicy; counter: Counter | null }[] =>
  ep.policies.map((policy, i) => {
    const key = kindOf(policy).counterKey?.(ep.id, i);
    return { policy, counter: key === undefined ? null : (totals.get(key) ?? { packets: 0, bytes: 0 }) };
  });
