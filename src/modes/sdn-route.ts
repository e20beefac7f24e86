/**
 * SDNRoute policies: routes inside the endpoint's namespace, through its interface. Pure. A runtime that
 * configures the container end itself gets them as routes to install instead (Docker's StaticRoutes).
 */
import type { KernelObject } from "../dataplane/objects.js";
import { familyOfAddress, type SdnRoutePolicy } from "../model/policy.js";
import type { Endpoint, Namespace } from "../model/types.js";

export function sdnRouteObjects(ep: Endpoint, ns: Namespace | null): KernelObject[] {
  if (ep.attachment?.kind !== "namespace" || ns === null) return [];
  const dev = ep.attachment.ifname;
  return ep.policies
    .filter((p): p is SdnRoutePolicy => p.type === "SDNRoute")
    .map((r) => ({
      kind: "route",
      owner: `ep:${ep.id}`,
      netns: ns.path,
      family: familyOfAddress(r.nextHop),
      dst: r.destinationPrefix,
      via: r.nextHop,
      dev,
    }));
}
