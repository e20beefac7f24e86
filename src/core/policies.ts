/**
 * Policies of endpoints and networks: what a single policy cannot tell about itself (checked against its
 * network and the others), HNS's modify requests, and the ACL counters. A change to a network's policies
 * changes every endpoint of it, in one step.
 */
import { aclCounterKey, type Owner } from "../dataplane/naming.js";
import type { Counter } from "../dataplane/counters.js";
import { conflict, HostnetError, invalidArgument } from "../errors.js";
import { contains, overlaps, parseIp, parsePrefix } from "../model/ip.js";
import { overlayBridgeMac } from "../model/overlay.js";
import {
  singletonPolicies,
  type EndpointPolicy,
  type NetworkPolicy,
  type RemoteSubnetRoutePolicy,
} from "../model/policy.js";
import type { Endpoint, Network, OverlaySettings } from "../model/types.js";
import { aclObjects, checkAclTiers } from "../modes/acl.js";
import { getEndpoint, getNetwork, type Core } from "./context.js";
import type { PolicyRequest, PolicySpec } from "./specs.js";
import { overlapping } from "./subnets.js";

/** Changes an endpoint's policies in one step: all of the change reaches the kernel, or none of it. */
export async function modifyEndpointPolicies(
  core: Core,
  ref: string,
  request: PolicyRequest,
): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  const before = ep.policies;
  const after = modifiedPolicies(
    before,
    request,
    checkPolicies(request.policies, getNetwork(core, ep.networkId)),
  );
  checkAclTiers(after, getNetwork(core, ep.networkId).policies);
  core.store.write(() => core.store.setPolicies(ep.id, after));
  await core.convergeOrUndo([`ep:${ep.id}`], () => core.store.setPolicies(ep.id, before));
  return getEndpoint(core, ep.id);
}

/**
 * Changes the policies every endpoint of a network gets besides its own, in one step over all of them:
 * the whole change reaches the kernel, or none of it.
 */
export async function modifyNetworkPolicies(
  core: Core,
  ref: string,
  request: PolicyRequest<NetworkPolicy>,
): Promise<Network> {
  const net = getNetwork(core, ref);
  const before = net.policies;
  const after = modifiedPolicies(before, request, checkPolicies(request.policies, net));
  const endpoints = core.store.endpoints({ networkId: net.id });
  checkAclTiers([], after);
  for (const ep of endpoints) checkAclTiers(ep.policies, after);
  const scope: Owner[] = [`net:${net.id}`, ...endpoints.map((e) => `ep:${e.id}` as const)];
  core.store.write(() => {
    if (request.requestType !== "Remove") checkRemoteSubnets(core, request.policies, after, net);
    core.store.setNetworkPolicies(net.id, after);
  });
  await core.convergeOrUndo(scope, () => core.store.setNetworkPolicies(net.id, before));
  return getNetwork(core, net.id);
}

/** The endpoint's policies, each ACL with the packets and bytes its rules matched so far. */
export async function policyCounters(
  core: Core,
  ref: string,
): Promise<{ policy: EndpointPolicy; counter: Counter | null }[]> {
  const ep = getEndpoint(core, ref);
  const elements = aclObjects(ep, getNetwork(core, ep.networkId)).flatMap((o) =>
    o.kind === "nftElement" && o.label !== undefined ? [o] : [],
  );
  const totals = await core.reconciler.elementCounters([...new Set(elements.map((o) => o.set))]);
  return ep.policies.map((policy, i) => ({
    policy,
    counter: policy.type === "ACL" ? (totals.get(aclCounterKey(ep.id, i)) ?? { packets: 0, bytes: 0 }) : null,
  }));
}

/**
 * Checks what a single policy cannot tell: at most one policy of some types, and an SDNRoute's next hop
 * on one of the network's subnets.
 */
export function checkPolicies<P extends NetworkPolicy>(
  specs: readonly PolicySpec<P>[],
  net: { readonly name: string; readonly subnets: readonly { readonly prefix: string }[] },
): P[] {
  for (const type of singletonPolicies) {
    const same = specs.filter((s) => s.policy.type === type);
    if (same.length > 1)
      throw invalidArgument(same[1]?.field ?? "policies", `at most one ${type} policy is allowed`);
  }
  return specs.map(({ field, policy }) => {
    if (policy.type === "SDNRoute") {
      const hop = parseIp(`${field}.NextHop`, policy.nextHop);
      if (!net.subnets.some((s) => contains(parsePrefix("subnet", s.prefix), hop)))
        throw invalidArgument(`${field}.NextHop`, `${hop.address} is on no subnet of network "${net.name}"`);
    }
    return policy;
  });
}

/**
 * RemoteSubnetRoute policies `given` for a network whose policies become `after`, checked inside the store
 * transaction: a network of this host only, on the network's VNI, and each remote subnet routed once, to
 * one router, clear of every network's subnets on this host.
 */
export function checkRemoteSubnets(
  core: Core,
  given: readonly PolicySpec<NetworkPolicy>[],
  after: readonly NetworkPolicy[],
  net: {
    readonly id: string | undefined;
    readonly name: string;
    readonly overlay: OverlaySettings | null;
    readonly subnets: readonly { readonly prefix: string }[];
  },
): void {
  const routes = after.filter((p): p is RemoteSubnetRoutePolicy => p.type === "RemoteSubnetRoute");
  for (const { field, policy } of given) {
    if (policy.type !== "RemoteSubnetRoute") continue;
    const at = field.replace(/\.Settings$/, "");
    if (net.overlay === null)
      throw invalidArgument(at, "RemoteSubnetRoute policies are for Overlay networks");
    if (core.host.overlay !== undefined)
      throw invalidArgument(
        at,
        "hostnetd runs with --etcd: its Overlay networks span the cluster and learn remote endpoints from etcd; RemoteSubnetRoute is for a hostnetd with --host-address alone",
      );
    if (policy.isolationId !== net.overlay.vni)
      throw invalidArgument(`${field}.IsolationId`, `must be the network's VSID, ${net.overlay.vni}`);
    const prefix = parsePrefix(`${field}.DestinationPrefix`, policy.destinationPrefix);
    for (const s of net.subnets)
      if (overlaps(prefix, parsePrefix("subnet", s.prefix)))
        throw invalidArgument(
          `${field}.DestinationPrefix`,
          `${policy.destinationPrefix} overlaps the network's own subnet ${s.prefix}`,
        );
    for (const other of routes)
      if (other !== policy && overlaps(prefix, parsePrefix("route", other.destinationPrefix)))
        throw invalidArgument(
          `${field}.DestinationPrefix`,
          `${policy.destinationPrefix} overlaps the remote subnet ${other.destinationPrefix}`,
        );
    // A router's MAC is one neighbour entry, for one next hop: one remote subnet per router.
    if (routes.some((o) => o !== policy && o.drMac === policy.drMac))
      throw invalidArgument(
        `${field}.DistributedRouterMacAddress`,
        `${policy.drMac} is the router of another remote subnet already`,
      );
    const hostAddress = core.host.hostAddress;
    if (hostAddress !== undefined && policy.drMac === overlayBridgeMac(hostAddress))
      throw invalidArgument(`${field}.DistributedRouterMacAddress`, "is this host's own router");
    const clash = overlapping(core.store.networks(), prefix, net.id);
    if (clash !== undefined)
      throw conflict(
        `${field}.DestinationPrefix: ${policy.destinationPrefix} overlaps ${clash.prefix} of network "${clash.network.name}"`,
        `${field}.DestinationPrefix`,
      );
  }
}

/** HNS's modify request on a list of policies: Add appends, Remove takes out equal ones, Update replaces all. */
function modifiedPolicies<P extends NetworkPolicy>(
  before: readonly P[],
  request: PolicyRequest<P>,
  given: readonly P[],
): P[] {
  const same = (a: P, b: P): boolean => JSON.stringify(a) === JSON.stringify(b);
  let after: P[];
  switch (request.requestType) {
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
