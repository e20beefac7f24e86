/**
 * Temporary: what src/core imports of policies until the registry's glue replaces it (issue 15). Policies
 * live in src/policies; delete this file with the glue.
 */
import { parsePolicy } from "../policies/parse.js";
import type { EndpointPolicy } from "../policies/index.js";

export { familyOfAddress } from "./ip.js";
export { singletonPolicies, type EndpointPolicy, type NetworkPolicy } from "../policies/index.js";
export type { RemoteSubnetRoutePolicy } from "../policies/remote-subnet-route.js";

export const parseEndpointPolicy = (at: string, type: string, settings: unknown): EndpointPolicy =>
  parsePolicy(at, type, settings, "endpoint");
