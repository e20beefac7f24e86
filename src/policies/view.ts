/**
 * Policies as hostnetd shows them: `{Type, Settings}` documents, a network's and an endpoint's settings
 * first (in the registry's order), then the policies in the order they were given. Sent back as they are,
 * they read back the same.
 */
import type { Endpoint, Network } from "../model/types.js";
import { allEndpointSettingKinds, allNetworkSettingKinds, kindOf, type NetworkPolicy } from "./index.js";

export interface PolicyView {
  readonly Type: string;
  readonly Settings: unknown;
}

export function policyView(p: NetworkPolicy): PolicyView {
  return { Type: p.type, Settings: kindOf(p).view(p) };
}

export const networkPolicyViews = (net: Network): PolicyView[] => [
  ...allNetworkSettingKinds.flatMap((k) => k.view(net).map((Settings) => ({ Type: k.type, Settings }))),
  ...net.policies.map(policyView),
];

export const endpointPolicyViews = (ep: Endpoint): PolicyView[] => [
  ...allEndpointSettingKinds.flatMap((k) => k.view(ep).map((Settings) => ({ Type: k.type, Settings }))),
  ...ep.policies.map(policyView),
];
