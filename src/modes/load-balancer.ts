/**
 * A load balancer as kernel objects: one chain whose rules DNAT each frontend port to a backend picked at
 * random per connection (nft numgen over an anonymous map), and one verdict map element per VIP and port
 * jumping to it. A change of backends is a new chain (its name carries a hash of the rules) and one element
 * per frontend, whatever the number of load balancers; established connections keep their conntrack DNAT.
 * A frontend with no backend of its family is an element of `lbEmpty`, whose connections are refused. Pure.
 */
import { createHash } from "node:crypto";
import type { KernelObject } from "../dataplane/objects.js";
import { lbChainName } from "../dataplane/naming.js";
import type { Family } from "../model/ip.js";
import { familyOfAddress } from "../model/policy.js";
import type { Endpoint, LoadBalancer } from "../model/types.js";

function rulesOf(lb: LoadBalancer, backends: readonly Endpoint[], family: Family): string[] {
  const targets = backends.flatMap((ep) =>
    ep.addresses.filter((a) => a.family === family).map((a) => a.address),
  );
  if (targets.length === 0) return [];
  const ip = family === 6 ? "ip6" : "ip";
  return lb.portMappings.map((m) => {
    const map = targets.map((t, i) => `${i} : ${t} . ${m.internalPort}`).join(", ");
    return `meta nfproto ${family === 6 ? "ipv6" : "ipv4"} meta l4proto ${m.protocol} th dport ${m.externalPort} dnat ${ip} to numgen random mod ${targets.length} map { ${map} }`;
  });
}

export function loadBalancerObjects(lb: LoadBalancer, backends: readonly Endpoint[]): KernelObject[] {
  const owner = `lb:${lb.id}` as const;
  const families = [4, 6] as const;
  const rules = families.flatMap((f) => rulesOf(lb, backends, f));
  const hash = createHash("sha256").update(rules.join("\n")).digest("hex").slice(0, 12);
  const chain = lbChainName(lb.id, hash);
  const served = new Set(families.filter((f) => rulesOf(lb, backends, f).length > 0));
  const objects: KernelObject[] = served.size === 0 ? [] : [{ kind: "nftChain", owner, name: chain, rules }];
  for (const vip of lb.vips) {
    const family = familyOfAddress(vip);
    if (lb.sourceVip !== null && familyOfAddress(lb.sourceVip) === family)
      objects.push({
        kind: "nftElement",
        owner,
        set: `lbSource${family}`,
        key: [{ t: "addr", v: vip }],
        value: [{ t: "addr", v: lb.sourceVip }],
      });
    for (const m of lb.portMappings) {
      const key = [
        { t: "addr", v: vip },
        { t: "proto", v: m.protocol },
        { t: "port", v: m.externalPort },
      ] as const;
      objects.push(
        served.has(family)
          ? {
              kind: "nftElement",
              owner,
              set: `${lb.internal ? "lbInternal" : "lbFront"}${family}`,
              key: [...key],
              value: [{ t: "verdict", v: `jump ${chain}` }],
            }
          : { kind: "nftElement", owner, set: `lbEmpty${family}`, key: [...key], value: null },
      );
    }
  }
  return objects;
}
