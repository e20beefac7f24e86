/**
 * A load balancer as set elements. Its frontends (VIP . protocol . port) are elements of `lbFront` (from
 * anywhere), or `lbInternal` (ILB: from the host's containers) and `lbLocal` (LocalRoutedVip: from the host
 * too); the skeleton sends them to `lb_dnat`, which goes by `lbSpread` to the draw chain of the frontend's
 * number of backends (nft-sets.ts, drawBits), which DNATs by `lbBackends`: frontend . slot → backend, slots
 * 0 to N - 1 for N backends, in the order they were added. Random per connection, with no chain per load
 * balancer, since every chain the kernel has to re-validate at each change would make a change cost more the
 * more load balancers there are. A backend added is one element (and the spread element when the draw chain
 * changes); removing one rewrites the slots after it, of that load balancer only. Established connections
 * keep their conntrack DNAT.
 * A frontend with source-IP affinity goes by `lbSpread` to chains and sets of its load balancer's own
 * (affinityObjects), which only such load balancers have. A frontend with no backend of its family is an
 * element of `lbEmpty`, whose connections are refused.
 * A load balancer without VIPs is a NodePort one (Kubernetes' NodePort service, as kube-proxy asks HNS for it):
 * its frontends are protocol . port on every local address of the host, elements of `lbNode` (and
 * `lbNodeLocal` for the host itself, LocalRoutedVIP), spread by `lbNodeSpread` and `lbNodeBackends` alike; its
 * SourceVIP, of its own family (core/load-balancers.ts), is keyed by its protocol and port in `lbNodeSource`.
 * The connections each backend got are counted by the kernel: by the counters of its `lbBackends` elements,
 * labelled with the backend's endpoint id, or for affinity by the counter of its chain's DNAT rule. Pure.
 */
import { partsText, type KernelObject } from "../dataplane/objects.js";
import {
  DSR_VIP_LABEL,
  hostVethName,
  lbBackendLabel,
  ownedNftName,
  type Owner,
} from "../dataplane/naming.js";
import { drawBits, lbDrawChain, type ElementPart, type NftSetName } from "../dataplane/nft-sets.js";
import { LB_AFFINITY_SECONDS } from "../model/hns-load-balancer.js";
import { familyOfAddress, hostCidr, parseIp, type Family } from "../model/ip.js";
import type { Endpoint, LbPortMapping, LoadBalancer } from "../model/types.js";

/** A backend and the path of the namespace it is attached to, if hostnet knows it. */
export interface Backend {
  readonly endpoint: Endpoint;
  readonly netns: string | undefined;
}

/**
 * Direct server return: the VIP is routed to the backends (one nexthop each, the kernel's multipath hash
 * picks one per flow) and reaches them unchanged; each backend carries it on its lo and may send from it
 * (anti-spoofing), and its frontends are in `lbDsr4`/`lbDsr6`, which lets them into NAT bridges. Each VIP
 * goes to its backends' addresses of its own family.
 */
function dsrObjects(lb: LoadBalancer, backends: readonly Backend[]): KernelObject[] {
  const owner = `lb:${lb.id}` as const;
  return lb.vips.flatMap((vip): KernelObject[] => {
    const family = familyOfAddress(vip);
    const served = backends.flatMap(({ endpoint, netns }) =>
      endpoint.addresses
        .filter((a) => a.family === family)
        .map((a) => ({ endpoint, netns, address: a.address })),
    );
    const frontends = lb.portMappings.map((m): ElementPart[] => [
      { t: "addr", v: vip },
      { t: "proto", v: m.protocol },
      { t: "port", v: m.externalPort },
    ]);
    if (served.length === 0)
      return frontends.map((key) => ({
        kind: "nftElement",
        owner,
        set: `lbEmpty${family}`,
        key,
        value: null,
      }));
    return [
      { kind: "vipRoute", owner, vip, via: served.map((b) => b.address) },
      ...frontends.map((key): KernelObject => ({
        kind: "nftElement",
        owner,
        set: `lbDsr${family}`,
        key,
        value: null,
      })),
      ...served.flatMap(({ endpoint, netns }): KernelObject[] => [
        {
          kind: "nftElement",
          owner,
          set: `spoofIp${family}`,
          key: [
            { t: "ifname", v: hostVethName(endpoint.shortId) },
            { t: "addr", v: vip },
          ],
          value: null,
        },
        ...(netns === undefined
          ? []
          : [
              {
                kind: "address",
                owner,
                netns,
                dev: "lo",
                cidr: hostCidr(vip),
                label: DSR_VIP_LABEL,
              } as const,
            ]),
      ]),
    ];
  });
}

/** A frontend with source-IP affinity: a VIP and one of its port mappings. */
interface AffineFrontend {
  readonly vip: string;
  readonly mapping: LbPortMapping;
}

/** The chain an affine frontend of the family goes to (affinityObjects). */
const affinityChain = (owner: Owner, family: Family): string => ownedNftName(owner, String(family));

/** A backend address's chain of a load balancer with affinity, `lb_<id>_<address in hex>` (affinityObjects). */
export const affinityBackendChain = (owner: Owner, address: string): string => {
  const { family, value } = parseIp("address", address);
  return ownedNftName(owner, value.toString(16).padStart(family === 4 ? 8 : 32, "0"));
};

/**
 * Source-IP affinity of one family's frontends, kept as kube-proxy's nftables mode keeps it, in sets without
 * data (nft 1.0.6 aborts compiling the update of a map keyed by an IPv6 address with data,
 * kubernetes/kubernetes#140951). Each backend address has a chain `lb_<id>_<address in hex>` that remembers
 * the client in the backend's set (client . VIP . protocol . port, for `timeout` seconds after its last new
 * connection) and DNATs to the backend; the frontend's chain `lb_<id>_<family>` sends a client found in a
 * backend's set to that backend's chain, and any other client to a backend's chain drawn at random. A backend
 * that goes takes its set, and the clients it had, along; the others keep theirs. The set's name holds the
 * timeout, which the kernel cannot change in a set: a new timeout makes new sets.
 */
function affinityObjects(
  owner: Owner,
  family: Family,
  frontends: readonly AffineFrontend[],
  served: readonly string[],
  timeout: number,
): KernelObject[] {
  const ip = family === 4 ? "ip" : "ip6";
  const client = `${ip} saddr . ${ip} daddr . meta l4proto . th dport`;
  const backends = served.map((address) => {
    const chain = affinityBackendChain(owner, address);
    return { address, chain, set: `${chain}_${timeout}s` };
  });
  const draw = backends.map((b, slot) => `${slot} : goto ${b.chain}`).join(", ");
  return [
    ...backends.flatMap(({ address, chain, set }): KernelObject[] => {
      const dnat = frontends
        .map(({ vip, mapping: m }) => {
          const frontend = partsText([
            { t: "addr", v: vip },
            { t: "proto", v: m.protocol },
            { t: "port", v: m.externalPort },
          ]);
          return `${frontend} : ${address} . ${m.internalPort}`;
        })
        .join(", ");
      return [
        {
          kind: "nftSet",
          owner,
          family: "inet",
          name: set,
          declaration: `typeof ${client}; flags dynamic,timeout; timeout ${timeout}s;`,
        },
        {
          kind: "nftChain",
          owner,
          family: "inet",
          name: chain,
          rules: [
            `meta l4proto { tcp, udp } update @${set} { ${client} }`,
            // Counts the backend's new connections, of every frontend of the family (core/lb-connections.ts).
            `meta l4proto { tcp, udp } counter dnat ${ip} to ${ip} daddr . meta l4proto . th dport map { ${dnat} }`,
          ],
        },
      ];
    }),
    {
      kind: "nftChain",
      owner,
      family: "inet",
      name: affinityChain(owner, family),
      rules: [
        ...backends.map(({ chain, set }) => `${client} @${set} goto ${chain}`),
        `numgen random mod ${backends.length} vmap { ${draw} }`,
      ],
    },
  ];
}

export function loadBalancerObjects(lb: LoadBalancer, attached: readonly Backend[]): KernelObject[] {
  if (lb.dsr) return dsrObjects(lb, attached);
  const backends = attached.map((b) => b.endpoint);
  const owner = `lb:${lb.id}` as const;
  const targets = (family: Family): { address: string; endpoint: string }[] =>
    backends.flatMap((ep) =>
      ep.addresses.filter((a) => a.family === family).map((a) => ({ address: a.address, endpoint: ep.id })),
    );
  const objects: KernelObject[] = [];
  const affine: Record<Family, AffineFrontend[]> = { 4: [], 6: [] };
  // No VIP: a NodePort load balancer, on every local address of its family.
  for (const vip of lb.vips.length > 0 ? lb.vips : [null]) {
    const family = vip === null ? (lb.ipv6 ? 6 : 4) : familyOfAddress(vip);
    const nodePort = vip === null;
    const served = targets(family);
    if (vip !== null && lb.sourceVip !== null && familyOfAddress(lb.sourceVip) === family)
      objects.push({
        kind: "nftElement",
        owner,
        set: `lbSource${family}`,
        key: [{ t: "addr", v: vip }],
        value: [{ t: "addr", v: lb.sourceVip }],
      });
    for (const m of lb.portMappings) {
      const frontend: ElementPart[] = [
        ...(vip === null ? [] : [{ t: "addr", v: vip } as const]),
        { t: "proto", v: m.protocol },
        { t: "port", v: m.externalPort },
      ];
      const member = (set: NftSetName): KernelObject => ({
        kind: "nftElement",
        owner,
        set,
        key: frontend,
        value: null,
      });
      // A NodePort without backends is left to the host: it answers as for any port nothing listens on.
      if (served.length === 0) {
        if (!nodePort) objects.push(member(`lbEmpty${family}`));
        continue;
      }
      if (nodePort) {
        objects.push(member(`lbNode${family}`));
        if (m.localRoutedVip) objects.push(member(`lbNodeLocal${family}`));
        if (lb.sourceVip !== null)
          objects.push({
            kind: "nftElement",
            owner,
            set: `lbNodeSource${family}`,
            key: frontend,
            value: [{ t: "addr", v: lb.sourceVip }],
          });
      } else {
        objects.push(member(`${lb.internal ? "lbInternal" : "lbFront"}${family}`));
        if (lb.internal && m.localRoutedVip) objects.push(member(`lbLocal${family}`));
      }
      const spread = `${nodePort ? "lbNodeSpread" : "lbSpread"}${family}` as const;
      if (vip !== null && m.affinity) {
        affine[family].push({ vip, mapping: m });
        objects.push({
          kind: "nftElement",
          owner,
          set: spread,
          key: frontend,
          value: [{ t: "verdict", v: `goto ${affinityChain(owner, family)}` }],
        });
        continue;
      }
      objects.push(
        {
          kind: "nftElement",
          owner,
          set: spread,
          key: frontend,
          value: [{ t: "verdict", v: `goto ${lbDrawChain(family, drawBits(served.length), nodePort)}` }],
        },
        ...served.map(({ address, endpoint }, slot): KernelObject => ({
          kind: "nftElement",
          owner,
          set: `${nodePort ? "lbNodeBackends" : "lbBackends"}${family}`,
          key: [...frontend, { t: "slot", v: slot }],
          value: [
            { t: "addr", v: address },
            { t: "port", v: m.internalPort },
          ],
          label: lbBackendLabel(endpoint),
        })),
      );
    }
  }
  for (const family of [4, 6] as const)
    if (affine[family].length > 0)
      objects.push(
        ...affinityObjects(
          owner,
          family,
          affine[family],
          targets(family).map((t) => t.address),
          lb.affinityTimeout ?? LB_AFFINITY_SECONDS,
        ),
      );
  return objects;
}
