/**
 * Policies of endpoints and networks: HNS's modify requests, checked through the policy kinds against the
 * network and the host's other networks, and the counters of what an endpoint's policies matched. A change
 * to a network's policies changes every endpoint of it, in one step.
 */
import type { Owner } from "../dataplane/naming.js";
import type { Counter } from "../dataplane/counters.js";
import type { EventDetails } from "../events/event.js";
import type { Endpoint, Network, NetworkType, OverlaySettings } from "../model/types.js";
import type { EndpointPolicy, NetworkPolicy } from "../policies/index.js";
import {
  checkPolicies,
  checkPoliciesInForce,
  checkPoliciesOnHost,
  modifiedPolicies,
} from "../policies/checks.js";
import { policyCounters as countersOf } from "../policies/objects.js";
import { conflict } from "../errors.js";
import { getEndpoint, getNetwork, type Core } from "./context.js";
import { endpointChanged, networkChanged } from "./record.js";
import { checkRemoteEndpointsRouted } from "./remote-endpoints.js";
import type { PolicyRequest, PolicySpec } from "./specs.js";
import { overlapping } from "./subnets.js";

/** Changes an endpoint's policies in one step: all of the change reaches the kernel, or none of it. */
export async function modifyEndpointPolicies(
  core: Core,
  ref: string,
  request: PolicyRequest,
): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  if (ep.remoteHost !== null)
    throw conflict(`endpoint "${ep.name}" is on another host (${ep.remoteHost}): its policies act there`);
  const net = getNetwork(core, ep.networkId);
  const before = ep.policies;
  const after = modifiedPolicies(
    before,
    request.requestType,
    checkPolicies(request.policies, net, core.host.kernelFeatures),
  );
  checkPoliciesInForce(after, net.policies);
  core.store.write(() => core.store.endpoints.setPolicies(ep.id, after));
  await core.convergeOrUndo([`ep:${ep.id}`], () => core.store.endpoints.setPolicies(ep.id, before));
  const changed = getEndpoint(core, ep.id);
  endpointChanged(core, "update", changed, policyDetails(request));
  return changed;
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
  const after = modifiedPolicies(
    before,
    request.requestType,
    checkPolicies(request.policies, net, core.host.kernelFeatures),
  );
  const endpoints = core.store.endpoints.all({ networkId: net.id });
  checkRemoteEndpointsRouted(core, net, after);
  checkPoliciesInForce([], after);
  for (const ep of endpoints) checkPoliciesInForce(ep.policies, after);
  const scope: Owner[] = [`net:${net.id}`, ...endpoints.map((e) => `ep:${e.id}` as const)];
  core.store.write(() => {
    if (request.requestType !== "Remove") checkAgainstHost(core, request.policies, after, net);
    core.store.networks.setPolicies(net.id, after);
  });
  await core.convergeOrUndo(scope, () => core.store.networks.setPolicies(net.id, before));
  const changed = getNetwork(core, net.id);
  networkChanged(core, "update", changed, policyDetails(request));
  return changed;
}

/** The endpoint's policies, each with what it matched so far when its kind counts (ACLs). */
export async function policyCounters(
  core: Core,
  ref: string,
): Promise<{ policy: EndpointPolicy; counter: Counter | null }[]> {
  const ep = getEndpoint(core, ref);
  return countersOf(ep, (await core.reconciler.nftCounters(false)).elements);
}

/**
 * A network's own policies `given`, whose policies become `after`, checked against this host's other
 * networks; run inside the store transaction that records them.
 */
export function checkAgainstHost(
  core: Core,
  given: readonly PolicySpec<NetworkPolicy>[],
  after: readonly NetworkPolicy[],
  net: {
    readonly id: string | undefined;
    readonly name: string;
    readonly type: NetworkType;
    readonly overlay: OverlaySettings | null;
    readonly subnets: readonly { readonly prefix: string }[];
  },
): void {
  checkPoliciesOnHost(given, after, {
    ...net,
    clustered: core.host.overlay !== undefined,
    overlapping: (prefix) => {
      const clash = overlapping(core.store.networks.all(), prefix, net.id);
      return clash === undefined ? undefined : { prefix: clash.prefix, network: clash.network.name };
    },
  });
}

/** What a policy change did, for its event: the request's type and the types of the policies it named. */
function policyDetails<P extends NetworkPolicy>(request: PolicyRequest<P>): EventDetails {
  return { RequestType: request.requestType, Policies: request.policies.map((s) => s.policy.type) };
}
