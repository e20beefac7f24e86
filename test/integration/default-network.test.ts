import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import { needsRoot } from "../helpers/root.js";
import { startDaemon, type TestDaemon } from "../helpers/daemon.js";
import { must } from "../helpers/run.js";
import { createTopology, type Topology } from "../helpers/topology.js";

interface NetworkBody {
  Name: string;
  Type: string;
  Ipams: { Subnets: { IpAddressPrefix: string }[] }[];
}

describe.skipIf(needsRoot)("first start: the default NAT network", () => {
  const cleanup = new Cleanup();
  let t: Topology;
  let d: TestDaemon;

  beforeAll(async () => {
    t = await createTopology();
    cleanup.add(() => t.destroy());
    // 172.16.0.0/16 is routed and 172.17.0.0/16 addressed here, so hostnet must pick 172.18.0.0/16.
    await must(["ip", "-n", t.host, "route", "add", "172.16.0.0/16", "via", t.extIp4]);
    await must(["ip", "-n", t.host, "addr", "add", "172.17.5.1/16", "dev", "up0"]);
    d = await startDaemon(t.host);
    cleanup.add(() => d.stop());
  });

  afterAll(() => cleanup.run());

  it("serves its socket with mode 0660", () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o660);
  });

  it("creates network nat on the first free /16 of 172.16.0.0/12, once", async () => {
    const nets = await d.ok<NetworkBody[]>("GET", `/networks?filter=${encodeURIComponent('{"Name":"nat"}')}`);
    expect(nets).toHaveLength(1);
    expect(nets[0]?.Type).toBe("NAT");
    expect(nets[0]?.Ipams[0]?.Subnets[0]?.IpAddressPrefix).toBe("172.18.0.0/16");

    await d.ok("DELETE", "/networks/nat");
    await d.kill();
    await d.restart();
    expect(await d.ok<NetworkBody[]>("GET", "/networks")).toEqual([]);
  });
});
