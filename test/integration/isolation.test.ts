import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import { needsRoot } from "../helpers/root.js";
import { startDaemon, type TestDaemon } from "../helpers/daemon.js";
import { createTopology, ping, type Topology } from "../helpers/topology.js";

interface EndpointBody {
  IpConfigurations: { IpAddress: string }[];
}

describe.skipIf(needsRoot)("isolation between networks and InterContainer: false", () => {
  const cleanup = new Cleanup();
  let t: Topology;
  let d: TestDaemon;
  const ip: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTopology();
    cleanup.add(() => t.destroy());
    d = await startDaemon(t.host, ["--no-default-network"]);
    cleanup.add(() => d.stop());
    await d.ok("POST", "/networks", {
      Name: "open",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.21.0.0/24" }] }],
    });
    await d.ok("POST", "/networks", {
      Name: "closed",
      InterContainer: false,
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.22.0.0/24" }] }],
    });
    for (const [name, network] of [
      ["a1", "open"],
      ["a2", "open"],
      ["b1", "closed"],
      ["b2", "closed"],
    ] as const) {
      await d.ok("POST", "/namespaces", { Name: t.ns(name) });
      const ep = await d.ok<EndpointBody>("POST", "/endpoints", {
        Name: name,
        HostComputeNetwork: network,
        HostComputeNamespace: t.ns(name),
      });
      ip[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
    }
  });

  afterAll(() => cleanup.run());

  it("lets endpoints of one network reach each other by default", async () => {
    expect(await ping(t.ns("a1"), ip["a2"] ?? "")).toBe(true);
  });

  it("keeps endpoints of different networks apart", async () => {
    expect(await ping(t.ns("a1"), ip["b1"] ?? "")).toBe(false);
    expect(await ping(t.ns("b1"), ip["a1"] ?? "")).toBe(false);
  });

  it("keeps endpoints of an InterContainer: false network apart, but not from the host and the outside", async () => {
    expect(await ping(t.ns("b1"), ip["b2"] ?? "")).toBe(false);
    expect(await ping(t.ns("b1"), "10.22.0.1")).toBe(true);
    expect(await ping(t.ns("b1"), t.extIp4)).toBe(true);
    expect((await d.ok<{ InterContainer: boolean }>("GET", "/networks/closed")).InterContainer).toBe(false);
  });
});
