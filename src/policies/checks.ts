/**
 * What the core checks of policies beyond each one alone, through the kinds: at most one of a singleton
 * kind, what needs the network or the host's other networks, and what an endpoint's policies and its
 * network's can do together. Also HNS's modify request on a list of policies.
 */
import { HostnetError, invalidArgument } from "../errors.js";
import {
  allPolicyKinds,
  kindOf,
  singletonPolicies,
  type EndpointPolicy,
  type NetworkPolicy,
} from "./index.js";
import type { GivenPolicy, NetworkOnHost, NetworkShape } from "./kind.js";
import { hasFeature, type KernelFeatures } from "../model/kernel-features.js";

/**
 * Checks what a single policy cannot tell: at most one policy of the singleton kinds, what each kind
 * checks against the network (an SDNRoute's next hop on one of its subnets), and that the kernel (when
 * known) has what the kind needs: asked only then, since reading its configuration costs.
 */
export function checkPolicies<P extends NetworkPolicy>(
  specs: readonly GivenPolicy<P>[],
  net: NetworkShape,
  kernel?: () => KernelFeatures,
): P[] {
  for (const type of singletonPolicies) {
    const same = specs.filter((s) => s.policy.type === type);
    if (same.length > 1)
      throw invalidArgument(same[1]?.field ?? "policies", `at most one ${type} policy is allowed`);
  }
  return specs.map((given) => {
    const kind = kindOf(given.policy);
    kind.checkOnNetwork?.(given, net);
    if (kind.needs !== undefined && kernel !== undefined && !hasFeature(kernel(), kind.needs.feature))
      throw invalidArgument(
        given.field,
        `this kernel has no ${kind.needs.what}, which ${kind.type} policies need (hostnet info lists the kernel's features)`,
      );
    return given.policy;
  });
}

/**
 * Checks a network's own policies `given` for it, whose policies become `after`, against the host's other
 * networks: run inside the store transaction that records them.
 */
export function checkPoliciesOnHost(
  given: readonly GivenPolicy[],
  after: readonly NetworkPolicy[],
  net: NetworkOnHost,
): void {
  for (const spec of given) {
    const kind = kindOf(spec.policy);
    kind.checkOnHost?.(
      spec,
      after.filter((p) => p.type === kind.type),
      net,
    );
  }
}

/** Checks what an endpoint's own policies and its network's can do together (ACL tiers). */
export function checkPoliciesInForce(
  own: readonly EndpointPolicy[],
  network: readonly NetworkPolicy[],
): void {
  for (const kind of allPolicyKinds) kind.checkInForce?.(own, network);
}

/** The prefixes beyond its subnets a network routes to (a routed overlay's remote subnets). */
export const routedPrefixes = (policies: readonly NetworkPolicy[]): string[] =>
  policies.flatMap((p) => kindOf(p).routes?.(p) ?? []);

/** HNS's modify request on a list of policies: Add appends, Remove takes out equal ones, Update replaces all. */
export function modifiedPolicies<P extends NetworkPolicy>(
  before: readonly P[],
  requestType: "Add" | "Remove" | "Update",
  given: readonly P[],
): P[] {
  const same = (a: P, b: P): boolean => JSON.stringify(a) === JSON.stringify(b);
  let after: P[];
  switch (requestType) {
    case "Add":
      after = [...before, ...given];
      break;
    case "Remove":
      given.forEach((p, i) => {
        if (!before.some((b) => same(b, p)))
          throw new HostnetError("NotFound", `Policies[${i}]: there is no such policy`, {
            field: `Policies[${i}]`,
          });
      });
      after = before.filter((b) => !given.some((p) => same(b, p)));
      break;
    case "Update":
      after = [...given];
      break;
  }
  for (const type of singletonPolicies)
    if (after.filter((p) => p.type === type).length > 1)
      throw invalidArgument(
        "policies",
        `at most one ${type} policy is allowed; use Update or Remove the old one`,
      );
  return after;
}
