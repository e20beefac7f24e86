import { statSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { must } from "../helpers/run.js";

interface NetworkBody {
  Name: string;
  Type: string;
  Ipams: { Subnets: { IpAddressPrefix: string }[] }[];
}

describe.skipIf(needsRoot)("first start: the default NAT network", () => {
  // 172.16.0.0/16 is routed and 172.17.0.0/16 addressed here, so hostnet must pick 172.18.0.0/16.
  const lab = useLab({
    daemonArgs: [],
    prepare: async (t) => {
      await must(["ip", "-n", t.host, "route", "add", "172.16.0.0/16", "via", t.extIp4]);
      await must(["ip", "-n", t.host, "addr", "add", "172.17.5.1/16", "dev", "up0"]);
    },
  });
  let d: TestDaemon;

  beforeAll(() => {
    ({ d } = lab);
  });

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
