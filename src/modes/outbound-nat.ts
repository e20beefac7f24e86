/**
 * OutBoundNAT policies: an endpoint's traffic leaving the host is SNAT'ed to its VirtualIP instead of
 * masqueraded, and traffic to its exception prefixes leaves with the endpoint's own address. One map or
 * set element per address and prefix. Pure.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { familyOfAddress, type OutboundNatPolicy } from "../model/policy.js";
import type { Endpoint } from "../model/types.js";

export function outboundNatObjects(ep: Endpoint): KernelObject[] {
  const policy = ep.policies.find((p): p is OutboundNatPolicy => p.type === "OutBoundNAT");
  if (ep.attachment === null || policy === undefined) return [];
  const owner = `ep:${ep.id}` as const;
  const objects: KernelObject[] = [];
  for (const a of ep.addresses) {
    if (policy.virtualIp !== null && familyOfAddress(policy.virtualIp) === a.family)
      objects.push({
        kind: "nftElement",
        owner,
        set: `snat${a.family}`,
        key: [{ t: "addr", v: a.address }],
        value: [{ t: "addr", v: policy.virtualIp }],
      });
    for (const e of policy.exceptions.filter((p) => familyOfAddress(p) === a.family))
      objects.push({
        kind: "nftElement",
        owner,
        set: `snatExcept${a.family}`,
        key: [
          { t: "addr", v: a.address },
          { t: "prefix", v: e },
        ],
        value: null,
      });
  }
  return objects;
}
