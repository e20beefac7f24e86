import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import type { LoadBalancer } from "../../../src/model/types.js";
import { loadBalancerObjects } from "../../../src/modes/load-balancer.js";
import { dualNet, endpointOf } from "./samples.js";

const LB: LoadBalancer = {
  id: "dddd4444-0000-4000-8000-000000000004",
  name: "web",
  vips: ["198.51.100.10", "2001:db8:100::10"],
  portMappings: [
    { protocol: "tcp", externalPort: 80, internalPort: 8080 },
    { protocol: "udp", externalPort: 53, internalPort: 5353 },
  ],
  backends: [],
  internal: false,
  sourceVip: null,
  createdAt: "2025-01-01T00:00:00.000Z",
};

const elements = (objects: KernelObject[]): string[] =>
  objects.flatMap((o) => (o.kind === "nftElement" ? [`${o.set} ${o.key.map((k) => k.v).join(" ")}`] : []));

describe("load balancer objects", () => {
  it("refuse every frontend while there is no backend", () => {
    const objects = loadBalancerObjects(LB, []);
    expect(objects.filter((o) => o.kind === "nftChain")).toEqual([]);
    expect(elements(objects)).toEqual([
      "lbEmpty4 198.51.100.10 tcp 80",
      "lbEmpty4 198.51.100.10 udp 53",
      "lbEmpty6 2001:db8:100::10 tcp 80",
      "lbEmpty6 2001:db8:100::10 udp 53",
    ]);
  });

  it("DNAT each port of each family to a random backend of that family, from one chain", () => {
    const backends = [endpointOf(dualNet), endpointOf(dualNet)];
    const objects = loadBalancerObjects(LB, backends);
    const [chain, ...more] = objects.filter((o) => o.kind === "nftChain");
    expect(more).toEqual([]);
    if (chain?.kind !== "nftChain") throw new Error("no chain");
    expect(chain.name).toMatch(new RegExp(`^lb_${LB.id}_[0-9a-f]{12}$`));
    const [a, b] = backends.map((ep) => ep.addresses);
    expect(chain.rules).toEqual([
      `meta nfproto ipv4 meta l4proto tcp th dport 80 dnat ip to numgen random mod 2 map { 0 : ${a?.[0]?.address ?? ""} . 8080, 1 : ${b?.[0]?.address ?? ""} . 8080 }`,
      `meta nfproto ipv4 meta l4proto udp th dport 53 dnat ip to numgen random mod 2 map { 0 : ${a?.[0]?.address ?? ""} . 5353, 1 : ${b?.[0]?.address ?? ""} . 5353 }`,
      `meta nfproto ipv6 meta l4proto tcp th dport 80 dnat ip6 to numgen random mod 2 map { 0 : ${a?.[1]?.address ?? ""} . 8080, 1 : ${b?.[1]?.address ?? ""} . 8080 }`,
      `meta nfproto ipv6 meta l4proto udp th dport 53 dnat ip6 to numgen random mod 2 map { 0 : ${a?.[1]?.address ?? ""} . 5353, 1 : ${b?.[1]?.address ?? ""} . 5353 }`,
    ]);
    expect(elements(objects)).toEqual([
      "lbFront4 198.51.100.10 tcp 80",
      "lbFront4 198.51.100.10 udp 53",
      "lbFront6 2001:db8:100::10 tcp 80",
      "lbFront6 2001:db8:100::10 udp 53",
    ]);
    expect(objects.every((o) => o.owner === `lb:${LB.id}`)).toBe(true);
  });

  it("change the chain's name with its backends, and put an ILB's frontends in the internal maps", () => {
    const one = loadBalancerObjects(LB, [endpointOf(dualNet)]).find((o) => o.kind === "nftChain");
    const two = loadBalancerObjects(LB, [endpointOf(dualNet), endpointOf(dualNet)]).find(
      (o) => o.kind === "nftChain",
    );
    expect(one?.kind === "nftChain" && two?.kind === "nftChain" && one.name !== two.name).toBe(true);
    expect(elements(loadBalancerObjects({ ...LB, internal: true }, [endpointOf(dualNet)]))[0]).toMatch(
      /^lbInternal4 /,
    );
  });
});
