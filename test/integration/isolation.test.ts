import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { ping, type Topology } from "../helpers/topology.js";

describe.skipIf(needsRoot)("isolation between networks and InterContainer: false", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  const ip: Record<string, string> = {};

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("open", ["10.21.0.0/24"]);
    await lab.network("closed", ["10.22.0.0/24"], { InterContainer: false });
    for (const [name, network] of [
      ["a1", "open"],
      ["a2", "open"],
      ["b1", "closed"],
      ["b2", "closed"],
    ] as const) {
      const ep = await lab.container(name, network);
      ip[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
    }
  });

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
