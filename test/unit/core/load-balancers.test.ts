import { describe, expect, it, onTestFinished } from "vitest";
import type { LoadBalancerSpec } from "../../../src/core/load-balancers.js";
import { harness } from "../harness.js";
import { epSpec, lbSpec, netSpec, subnet } from "./requests.js";

/** A NodePort load balancer (no VIPs) of UDP port 30053 and TCP port 30080 over `backends`. */
const nodePort = (backends: readonly string[]): LoadBalancerSpec => {
  const spec = lbSpec("np", [], backends);
  const [tcp] = spec.portMappings;
  if (tcp === undefined) throw new Error("lbSpec has a port mapping");
  const port = (value: number, i: number) => ({ value, field: `PortMappings[${String(i)}].ExternalPort` });
  return {
    ...spec,
    portMappings: [
      { ...tcp, protocol: "udp", externalPort: port(30053, 0) },
      { ...tcp, externalPort: port(30080, 1) },
    ],
  };
};

describe("a NodePort load balancer's flows", () => {
  it("are forgotten by its UDP ports: a backend's when it goes, all when the load balancer changes or goes", async () => {
    const forgotten: unknown[][] = [];
    const h = harness({ forgetBackend: (f) => Promise.resolve(void forgotten.push([...f])) });
    onTestFinished(() => h.close());
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const e1 = await h.service.createEndpoint(epSpec("e1", "n1"));
    const e2 = await h.service.createEndpoint(epSpec("e2", "n1"));
    const address = (ep: typeof e1): string => ep.addresses[0]?.address ?? "";
    await h.service.loadBalancers.create(nodePort([e1.id, e2.id]));
    await h.service.loadBalancers.removeBackend("np", { field: "HostComputeEndpoints[0]", ref: "e1" });
    await h.service.loadBalancers.update("np", {
      ...nodePort([e2.id]),
      sourceVip: { value: "203.0.113.5", field: "SourceVIP" },
    });
    await h.service.loadBalancers.delete("np");
    expect(forgotten).toEqual([
      [{ nodePort: 30053, family: 4, backend: address(e1) }],
      [{ nodePort: 30053, family: 4 }],
      [{ nodePort: 30053, family: 4 }],
    ]);
  });
});
