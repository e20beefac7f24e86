import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import type { Endpoint, LoadBalancer } from "../../../src/model/types.js";
import { loadBalancerObjects, type Backend } from "../../../src/modes/load-balancer.js";
import { dualNet, endpointOf, v4Net } from "./samples.js";

const LB: LoadBalancer = {
  id: "dddd4444-0000-4000-8000-000000000004",
  name: "web",
  vips: ["198.51.100.10", "2001:db8:100::10"],
  portMappings: [
    {
      protocol: "tcp",
      externalPort: 80,
      internalPort: 8080,
      affinity: false,
      localRoutedVip: false,
      keptFlags: 0,
    },
    {
      protocol: "udp",
      externalPort: 53,
      internalPort: 5353,
      affinity: false,
      localRoutedVip: false,
      keptFlags: 0,
    },
  ],
  backends: [],
  internal: false,
  sourceVip: null,
  dsr: false,
  ipv6: false,
  affinityTimeout: null,
  createdAt: "2025-01-01T00:00:00.000Z",
};

/** A DSR load balancer's own fields: it translates no port. */
const DSR: Pick<LoadBalancer, "dsr" | "portMappings"> = {
  dsr: true,
  portMappings: [
    {
      protocol: "tcp",
      externalPort: 80,
      internalPort: 80,
      affinity: false,
      localRoutedVip: false,
      keptFlags: 0,
    },
  ],
};

const attached = (endpoints: Endpoint[]): Backend[] =>
  endpoints.map((endpoint) => ({ endpoint, netns: "/run/netns/c1" }));

const elements = (objects: KernelObject[]): string[] =>
  objects.flatMap((o) =>
    o.kind === "nftElement"
      ? [
          `${o.set} ${o.key.map((k) => k.v).join(" ")}${o.value === null ? "" : ` : ${o.value.map((k) => k.v).join(" ")}`}`,
        ]
      : [],
  );

describe("load balancer objects", () => {
  it("refuse every frontend while there is no backend", () => {
    expect(elements(loadBalancerObjects(LB, []))).toEqual([
      "lbEmpty4 198.51.100.10 tcp 80",
      "lbEmpty4 198.51.100.10 udp 53",
      "lbEmpty6 2001:db8:100::10 tcp 80",
      "lbEmpty6 2001:db8:100::10 udp 53",
    ]);
  });

  it("give each backend of a family one slot of every frontend of that family, and draw among them", () => {
    const backends = [2, 3, 4].map((host) => endpointOf(dualNet, { host }));
    const objects = loadBalancerObjects({ ...LB, vips: ["198.51.100.10"] }, attached(backends));
    const [a, b, c] = backends.map((ep) => ep.addresses[0]?.address ?? "");
    const listed = elements(objects);
    expect(listed.filter((e) => !e.startsWith("lbBackends"))).toEqual([
      "lbFront4 198.51.100.10 tcp 80",
      "lbSpread4 198.51.100.10 tcp 80 : goto lb_draw4_2",
      "lbFront4 198.51.100.10 udp 53",
      "lbSpread4 198.51.100.10 udp 53 : goto lb_draw4_2",
    ]);
    expect(listed.filter((e) => e.startsWith("lbBackends4 198.51.100.10 tcp 80 "))).toEqual([
      `lbBackends4 198.51.100.10 tcp 80 0 : ${a ?? ""} 8080`,
      `lbBackends4 198.51.100.10 tcp 80 1 : ${b ?? ""} 8080`,
      `lbBackends4 198.51.100.10 tcp 80 2 : ${c ?? ""} 8080`,
    ]);
    expect(objects.every((o) => o.owner === `lb:${LB.id}`)).toBe(true);
    // Each slot names its backend, whose connections its counter counts.
    const labels = objects.flatMap((o) =>
      o.kind === "nftElement" && o.set === "lbBackends4" ? [o.label] : [],
    );
    expect(labels).toEqual([...backends, ...backends].map((ep) => `backend ${ep.id}`));
  });

  it("draw among the least power of two slots that holds the backends: one backend draws none", () => {
    const spread = (n: number): string[] =>
      elements(
        loadBalancerObjects(
          { ...LB, vips: ["198.51.100.10"], portMappings: LB.portMappings.slice(0, 1) },
          attached(Array.from({ length: n }, () => endpointOf(v4Net))),
        ),
      ).filter((e) => e.startsWith("lbSpread4"));
    expect([1, 2, 3, 4, 5, 33, 1024, 1025, 4096].map((n) => spread(n)[0]?.split(" ").pop())).toEqual([
      "lb_draw4_0",
      "lb_draw4_1",
      "lb_draw4_2",
      "lb_draw4_2",
      "lb_draw4_3",
      "lb_draw4_6",
      "lb_draw4_10",
      "lb_draw4_11",
      "lb_draw4_12",
    ]);
  });

  it("keep the slots before a removed backend: only the slots after it and the last one change", () => {
    const backends = Array.from({ length: 5 }, (_, i) => endpointOf(v4Net, { host: 2 + i }));
    const lb: LoadBalancer = { ...LB, vips: ["198.51.100.10"], portMappings: LB.portMappings.slice(0, 1) };
    const before = new Set(elements(loadBalancerObjects(lb, attached(backends))));
    const after = elements(
      loadBalancerObjects(lb, attached([...backends.slice(0, 3), ...backends.slice(4)])),
    );
    expect(after.filter((e) => !before.has(e))).toEqual([
      "lbSpread4 198.51.100.10 tcp 80 : goto lb_draw4_2",
      `lbBackends4 198.51.100.10 tcp 80 3 : ${backends[4]?.addresses[0]?.address ?? ""} 8080`,
    ]);
    expect([...before].filter((e) => !after.includes(e))).toHaveLength(3);
  });

  it("serve IPv6 VIPs from the backends' IPv6 addresses, and refuse them when the backends have none", () => {
    const dual = endpointOf(dualNet);
    expect(
      new Set(
        elements(loadBalancerObjects(LB, attached([dual])))
          .filter((e) => e.startsWith("lbBackends6"))
          .map((e) => e.split(" : ")[1]),
      ),
    ).toEqual(
      new Set([`${dual.addresses[1]?.address ?? ""} 8080`, `${dual.addresses[1]?.address ?? ""} 5353`]),
    );
    expect(
      elements(loadBalancerObjects(LB, attached([endpointOf(v4Net)]))).filter((e) => e.includes("2001:")),
    ).toEqual(["lbEmpty6 2001:db8:100::10 tcp 80", "lbEmpty6 2001:db8:100::10 udp 53"]);
  });

  it("put an ILB's frontends in the internal set, LocalRoutedVip ones in the local set", () => {
    const ilb: LoadBalancer = {
      ...LB,
      vips: ["198.51.100.10"],
      internal: true,
      portMappings: [
        {
          protocol: "tcp",
          externalPort: 80,
          internalPort: 8080,
          affinity: true,
          localRoutedVip: true,
          keptFlags: 0,
        },
      ],
    };
    expect(
      elements(loadBalancerObjects(ilb, attached([endpointOf(dualNet)]))).filter(
        (e) => !e.startsWith("lbBackends") && !e.startsWith("lbSpread"),
      ),
    ).toEqual(["lbInternal4 198.51.100.10 tcp 80", "lbLocal4 198.51.100.10 tcp 80"]);
  });

  it("keep source-IP affinity in chains and sets of the load balancer's own, per family, with its timeout", () => {
    const affine: LoadBalancer = {
      ...LB,
      portMappings: LB.portMappings.map((m) => ({ ...m, affinity: m.protocol === "tcp" })),
      affinityTimeout: 60,
    };
    const ep = endpointOf(dualNet);
    const v4 = ep.addresses.find((a) => a.family === 4)?.address ?? "";
    const v6 = ep.addresses.find((a) => a.family === 6)?.address ?? "";
    const objects = loadBalancerObjects(affine, attached([ep]));
    const id = `lb_${LB.id}`;
    const hex4 = v4
      .split(".")
      .map((n) => Number(n).toString(16).padStart(2, "0"))
      .join("");
    expect(elements(objects).filter((e) => e.includes(" tcp 80") && !e.startsWith("lbFront"))).toEqual([
      `lbSpread4 198.51.100.10 tcp 80 : goto ${id}_4`,
      `lbSpread6 2001:db8:100::10 tcp 80 : goto ${id}_6`,
    ]);
    // The UDP port mapping has no affinity: it draws by the skeleton's chains, as before.
    expect(elements(objects)).toContain("lbSpread4 198.51.100.10 udp 53 : goto lb_draw4_0");
    const own = objects.flatMap((o) =>
      o.kind === "nftChain"
        ? [`chain ${o.name}: ${o.rules.join(" | ")}`]
        : o.kind === "nftSet"
          ? [`set ${o.name}: ${o.declaration}`]
          : [],
    );
    const client4 = "ip saddr . ip daddr . meta l4proto . th dport";
    expect(own.slice(0, 2)).toEqual([
      `set ${id}_${hex4}_60s: typeof ${client4}; flags dynamic,timeout; timeout 60s;`,
      `chain ${id}_${hex4}: meta l4proto { tcp, udp } update @${id}_${hex4}_60s { ${client4} } | ` +
        `meta l4proto { tcp, udp } counter dnat ip to ip daddr . meta l4proto . th dport map { 198.51.100.10 . tcp . 80 : ${v4} . 8080 }`,
    ]);
    expect(own[2]).toBe(
      `chain ${id}_4: ${client4} @${id}_${hex4}_60s goto ${id}_${hex4} | numgen random mod 1 vmap { 0 : goto ${id}_${hex4} }`,
    );
    expect(own.slice(3).map((o) => o.split(":")[0])).toEqual([
      expect.stringMatching(new RegExp(`^set ${id}_[0-9a-f]{32}_60s$`)),
      expect.stringMatching(new RegExp(`^chain ${id}_[0-9a-f]{32}$`)),
      `chain ${id}_6`,
    ]);
    expect(v6).not.toBe("");
  });

  it("route a DSR VIP to its backends, put it on their lo and let them send from it, with no DNAT", () => {
    const backends = [endpointOf(v4Net), endpointOf(v4Net)];
    const dsr: LoadBalancer = {
      ...LB,
      vips: ["198.51.100.10"],
      ...DSR,
    };
    const objects = loadBalancerObjects(dsr, attached(backends));
    const [a, b] = backends.map((ep) => ep.addresses[0]?.address ?? "");
    expect(objects.filter((o) => o.kind === "vipRoute")).toEqual([
      { kind: "vipRoute", owner: `lb:${LB.id}`, vip: "198.51.100.10", via: [a, b] },
    ]);
    expect(elements(objects)).toEqual([
      "lbDsr4 198.51.100.10 tcp 80",
      `spoofIp4 hnv-${backends[0]?.shortId ?? ""} 198.51.100.10`,
      `spoofIp4 hnv-${backends[1]?.shortId ?? ""} 198.51.100.10`,
    ]);
    expect(objects.filter((o) => o.kind === "address")).toEqual(
      [0, 1].map(() => ({
        kind: "address",
        owner: `lb:${LB.id}`,
        netns: "/run/netns/c1",
        dev: "lo",
        cidr: "198.51.100.10/32",
        label: "lo:hostnet",
      })),
    );
    expect(elements(loadBalancerObjects(dsr, []))).toEqual(["lbEmpty4 198.51.100.10 tcp 80"]);
  });

  it("route each DSR VIP to the backends' addresses of its own family", () => {
    const backend = endpointOf(dualNet);
    const dsr: LoadBalancer = {
      ...LB,
      ...DSR,
    };
    const objects = loadBalancerObjects(dsr, attached([backend]));
    const address = (family: 4 | 6): string =>
      backend.addresses.find((a) => a.family === family)?.address ?? "";
    expect(objects.flatMap((o) => (o.kind === "vipRoute" ? [o.via] : []))).toEqual([
      [address(4)],
      [address(6)],
    ]);
    expect(elements(objects)).toEqual([
      "lbDsr4 198.51.100.10 tcp 80",
      `spoofIp4 hnv-${backend.shortId} 198.51.100.10`,
      "lbDsr6 2001:db8:100::10 tcp 80",
      `spoofIp6 hnv-${backend.shortId} 2001:db8:100::10`,
    ]);
    expect(objects.flatMap((o) => (o.kind === "address" ? [o.cidr] : []))).toEqual([
      "198.51.100.10/32",
      "2001:db8:100::10/128",
    ]);
  });

  it("serve a NodePort load balancer (no VIP) by protocol and port, of the family its IPv6 flag says", () => {
    const backends = [endpointOf(dualNet), endpointOf(dualNet)];
    const nodePort: LoadBalancer = {
      ...LB,
      vips: [],
      ipv6: true,
      portMappings: [
        {
          protocol: "tcp",
          externalPort: 30080,
          internalPort: 80,
          affinity: false,
          localRoutedVip: true,
          keptFlags: 0,
        },
      ],
    };
    const [a, b] = backends.map((ep) => ep.addresses.find((x) => x.family === 6)?.address ?? "");
    expect(elements(loadBalancerObjects(nodePort, attached(backends)))).toEqual([
      "lbNode6 tcp 30080",
      "lbNodeLocal6 tcp 30080",
      "lbNodeSpread6 tcp 30080 : goto lb_node_draw6_1",
      `lbNodeBackends6 tcp 30080 0 : ${a ?? ""} 80`,
      `lbNodeBackends6 tcp 30080 1 : ${b ?? ""} 80`,
    ]);
    expect(elements(loadBalancerObjects(nodePort, []))).toEqual([]);
  });

  it("key a NodePort's SourceVIP by its protocol and port, for the connections it DNATs", () => {
    const nodePort: LoadBalancer = { ...LB, vips: [], sourceVip: "203.0.113.5" };
    const served = elements(loadBalancerObjects(nodePort, attached([endpointOf(v4Net)])));
    expect(served.filter((e) => e.startsWith("lbNodeSource"))).toEqual([
      "lbNodeSource4 tcp 80 : 203.0.113.5",
      "lbNodeSource4 udp 53 : 203.0.113.5",
    ]);
    expect(served.filter((e) => e.startsWith("lbSource"))).toEqual([]);
    expect(elements(loadBalancerObjects(nodePort, []))).toEqual([]);
  });
});
