import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import { needsRoot } from "../helpers/root.js";
import { startDaemon, type TestDaemon } from "../helpers/daemon.js";
import { must } from "../helpers/run.js";
import { createTopology, type Topology } from "../helpers/topology.js";
import { askTcp, askUdp, startEchoServers } from "../helpers/traffic.js";

interface EndpointBody {
  IpConfigurations: { IpAddress: string }[];
}

const VIP = "192.0.2.10";
const EXCEPTED = "192.0.2.3";

describe.skipIf(needsRoot)("OutBoundNAT policies: SNAT to a VirtualIP, with exceptions", () => {
  const cleanup = new Cleanup();
  let t: Topology;
  let d: TestDaemon;
  let own = "";

  beforeAll(async () => {
    t = await createTopology();
    cleanup.add(() => t.destroy());
    // The host owns the VirtualIP; the external host has a second address whose traffic is excepted,
    // and a route back to the containers for the un-NATed replies.
    await must(["ip", "-n", t.host, "addr", "add", `${VIP}/24`, "dev", "up0"]);
    await must(["ip", "-n", t.ext, "addr", "add", `${EXCEPTED}/24`, "dev", "up1"]);
    await must(["ip", "-n", t.ext, "route", "add", "10.27.0.0/24", "via", t.hostIp4]);
    d = await startDaemon(t.host, ["--no-default-network"]);
    cleanup.add(() => d.stop());
    await d.ok("POST", "/networks", {
      Name: "n1",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.27.0.0/24" }] }],
    });
    await d.ok("POST", "/namespaces", { Name: t.ns("o1") });
    const ep = await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: "o1",
      HostComputeNetwork: "n1",
      HostComputeNamespace: t.ns("o1"),
      Policies: [{ Type: "OutBoundNAT", Settings: { VirtualIP: VIP, Exceptions: [`${EXCEPTED}/32`] } }],
    });
    own = ep.IpConfigurations[0]?.IpAddress ?? "";
    cleanup.track(await startEchoServers(t.ext, 7000));
  });

  afterAll(() => cleanup.run());

  it("sends from the VirtualIP instead of the host's address", async () => {
    expect(await askTcp(t.ns("o1"), t.extIp4, 7000)).toBe(VIP);
    expect(await askUdp(t.ns("o1"), t.extIp4, 7000)).toBe(VIP);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });

  it("leaves traffic to an exception un-NATed", async () => {
    expect(await askTcp(t.ns("o1"), EXCEPTED, 7000)).toBe(own);
  });

  it("masquerades again once the policy is removed, and the plan stays empty", async () => {
    await d.ok("POST", "/endpoints/o1/policies", { RequestType: "Update", Policies: [] });
    expect(await askTcp(t.ns("o1"), t.extIp4, 7000)).toBe(t.hostIp4);
    expect(await askTcp(t.ns("o1"), EXCEPTED, 7000)).toBe(t.hostIp4);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });
});
