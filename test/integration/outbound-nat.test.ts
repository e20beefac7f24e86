import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { must } from "../helpers/run.js";
import type { Topology } from "../helpers/topology.js";
import { askTcp, askUdp, startEchoServers } from "../helpers/traffic.js";

const VIP = "192.0.2.10";
const EXCEPTED = "192.0.2.3";

describe.skipIf(needsRoot)("OutBoundNAT policies: SNAT to a VirtualIP, with exceptions", () => {
  // The host owns the VirtualIP; the external host has a second address whose traffic is excepted,
  // and a route back to the containers for the un-NATed replies.
  const lab = useLab({
    prepare: async (t) => {
      await must(["ip", "-n", t.host, "addr", "add", `${VIP}/24`, "dev", "up0"]);
      await must(["ip", "-n", t.ext, "addr", "add", `${EXCEPTED}/24`, "dev", "up1"]);
      await must(["ip", "-n", t.ext, "route", "add", "10.27.0.0/24", "via", t.hostIp4]);
    },
  });
  let t: Topology;
  let d: TestDaemon;
  let own = "";

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("n1", ["10.27.0.0/24"]);
    const ep = await lab.container("o1", "n1", {
      Policies: [{ Type: "OutBoundNAT", Settings: { VirtualIP: VIP, Exceptions: [`${EXCEPTED}/32`] } }],
    });
    own = ep.IpConfigurations[0]?.IpAddress ?? "";
    lab.cleanup.track(await startEchoServers(t.ext, 7000));
  });

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
