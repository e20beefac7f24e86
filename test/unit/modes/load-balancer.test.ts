import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import type { LoadBalancer } from "../../../src/model/types.js";
import { loadBalancerObjects } from "../../../src/modes/load-balancer.js";
import { dualNet, endpointOf, v4Net } from "./samples.js";

const LB: LoadBalancer = {
  id: "dddd4444-0000-4000-8000-000000000004",
  name: "web",
  vips: ["198.51.100.10", "2001:db8:100::10"],
  portMappings: [
    { protocol: "tcp", externalPort: 80, internalPort: 8080, affinity: false, localRoutedVip: false },
    { protocol: "udp", externalPort: 53, internalPort: 5353, affinity: false, localRoutedVip: false },
  ],
  backends: [],
  internal: false,
  sourceVip: null,
  createdAt: "2025-01-01T00:00:00.000Z",
};

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

  it("give each backend of a family an equal range of the draws for every frontend of that family", () => {
    const backends = [endpointOf(dualNet), endpointOf(dualNet), endpointOf(dualNet)];
    const objects = loadBalancerObjects({ ...LB, vips: ["198.51.100.10"] }, backends);
    const [a, b, c] = backends.map((ep) => ep.addresses[0]?.address ?? "");
    expect(elements(objects)).toEqual([
      "lbFront4 198.51.100.10 tcp 80",
      `lbBackends4 198.51.100.10 tcp 80 0-21844 : ${a ?? ""} 8080`,
      `lbBackends4 198.51.100.10 tcp 80 21845-43689 : ${b ?? ""} 8080`,
      `lbBackends4 198.51.100.10 tcp 80 43690-65535 : ${c ?? ""} 8080`,
      "lbFront4 198.51.100.10 udp 53",
      `lbBackends4 198.51.100.10 udp 53 0-21844 : ${a ?? ""} 5353`,
      `lbBackends4 198.51.100.10 udp 53 21845-43689 : ${b ?? ""} 5353`,
      `lbBackends4 198.51.100.10 udp 53 43690-65535 : ${c ?? ""} 5353`,
    ]);
    expect(objects.every((o) => o.owner === `lb:${LB.id}`)).toBe(true);
  });

  it("serve IPv6 VIPs from the backends' IPv6 addresses, and refuse them when the backends have none", () => {
    const dual = endpointOf(dualNet);
    expect(elements(loadBalancerObjects(LB, [dual])).filter((e) => e.startsWith("lbBackends6"))).toEqual([
      `lbBackends6 2001:db8:100::10 tcp 80 0-65535 : ${dual.addresses[1]?.address ?? ""} 8080`,
      `lbBackends6 2001:db8:100::10 udp 53 0-65535 : ${dual.addresses[1]?.address ?? ""} 5353`,
    ]);
    expect(elements(loadBalancerObjects(LB, [endpointOf(v4Net)])).filter((e) => e.includes("2001:"))).toEqual(
      ["lbEmpty6 2001:db8:100::10 tcp 80", "lbEmpty6 2001:db8:100::10 udp 53"],
    );
  });

  it("put an ILB's frontends in the internal set, LocalRoutedVip ones in the local set, affine ones in lbAffine", () => {
    const ilb: LoadBalancer = {
      ...LB,
      vips: ["198.51.100.10"],
      internal: true,
      portMappings: [
        { protocol: "tcp", externalPort: 80, internalPort: 8080, affinity: true, localRoutedVip: true },
      ],
    };
    expect(
      elements(loadBalancerObjects(ilb, [endpointOf(dualNet)])).filter((e) => !e.startsWith("lbBackends")),
    ).toEqual([
      "lbInternal4 198.51.100.10 tcp 80",
      "lbLocal4 198.51.100.10 tcp 80",
      "lbAffine4 198.51.100.10 tcp 80",
    ]);
  });
});
