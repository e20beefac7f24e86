/** SDNRoute policies: routes inside the endpoint's namespace, through its interface. Pure. */
import type { KernelObject } from "../dataplane/objects.js";
import { familyOfAddress, type SdnRoutePolicy } from "../model/policy.js";
import type { Endpoint, Namespace } from "../model/types.js";

export function sdnRouteObjects(ep: Endpoint, ns: Namespace): KernelObject[] {
  if (ep.attachment === null) return [];
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
