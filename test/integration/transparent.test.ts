/**
 * A Transparent network on a "physical LAN" made of namespaces: a switch (a bridge in its own namespace), a
 * LAN host and a router, and the host's uplink NIC lan0 plugged into the switch. Containers sit on the LAN
 * with their own addresses and MACs; the host keeps its address and routes on the bridge; deleting the
 * network gives lan0 back exactly what it had.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";
import { BEYOND, createLan, HOST_LAN, LAN_HOST, lanNetwork, learnedMacs, type Lan } from "../helpers/lan.js";

/** What lan0 has, as the kernel reports it: addresses, MTU, state, MAC and routes. */
async function uplinkState(t: Topology): Promise<unknown> {
  const [link] = JSON.parse(await must(["ip", "-n", t.host, "-j", "addr", "show", "dev", "lan0"])) as {
    address: string;
    mtu: number;
    operstate: string;
    master?: string;
    addr_info: { local: string; prefixlen: number; scope: string }[];
  }[];
  const routes = JSON.parse(
    await must(["ip", "-n", t.host, "-j", "route", "show", "dev", "lan0"]),
  ) as unknown[];
  return {
    mac: link?.address,
    mtu: link?.mtu,
    state: link?.operstate,
    master: link?.master,
    addresses: link?.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
    routes,
  };
}

describe.skipIf(needsRoot)("Transparent networks on a LAN of namespaces", () => {
  let before: unknown;
  let lan: Lan;
  const lab = useLab({
    async prepare(t) {
      lan = await createLan(t);
      before = await uplinkState(t);
    },
  });
  const ip: Record<string, string> = {};
  const addr = (name: string): string => ip[name] ?? "";

  beforeAll(async () => {
    await lab.d.ok("POST", "/networks", lanNetwork("lan", "Transparent"));
    for (const [name, address] of [
      ["c1", "10.70.0.11"],
      ["c2", "10.70.0.12"],
    ] as const) {
      const ep = await lab.container(name, "lan", { IpConfigurations: [{ IpAddress: address }] });
      ip[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
      ip[`${name}-mac`] = ep.MacAddress;
    }
  });

  it("puts containers on the LAN with their own addresses and MACs, routed through the LAN's router", async () => {
    const t = lab.t;
    expect(await ping(t.ns("lh"), addr("c1"))).toBe(true);
    expect(await ping(t.ns("c1"), LAN_HOST)).toBe(true);
    expect(await ping(t.ns("c1"), addr("c2"))).toBe(true);
    expect(await ping(t.ns("c1"), BEYOND)).toBe(true);
    expect(await must(inNs(t.ns("lh"), ["ip", "neigh", "show", addr("c1")]))).toContain(addr("c1-mac"));
    expect(await learnedMacs(lan)).toContain(addr("c1-mac"));
  });

  it("keeps the host on the LAN: lan0's address, MAC, MTU and routes are the bridge's now", async () => {
    const t = lab.t;
    const { Bridge, Mtu } = await lab.d.ok<{ Bridge: string; Mtu: number }>("GET", "/networks/lan");
    expect(Mtu).toBe(1400);
    expect(await ping(t.ns("lh"), HOST_LAN)).toBe(true);
    expect(await must(["ip", "-n", t.host, "route", "get", "10.80.0.5"])).toContain(`dev ${Bridge}`);
    expect(await uplinkState(t)).toMatchObject({ master: Bridge, addresses: [] });
  });

  it("refuses a second network on the same uplink with 409", async () => {
    const r = await lab.d.api("POST", "/networks", {
      Name: "again",
      Type: "Transparent",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.71.0.0/24" }] }],
      Policies: [{ Type: "NetAdapterName", Settings: { NetworkAdapterName: "lan0" } }],
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: { field: "Policies[0].Settings.NetworkAdapterName" } });
  });

  it("survives kill -9 of hostnetd with nothing to repair", async () => {
    await lab.d.kill("SIGKILL");
    await lab.d.restart();
    expect(await lab.plan()).toEqual([]);
    expect(await ping(lab.t.ns("lh"), addr("c1"))).toBe(true);
  });

  it("gives lan0 back exactly what it had when the network is deleted", async () => {
    const t = lab.t;
    await lab.d.ok("DELETE", "/networks/lan?force=true");
    expect(await uplinkState(t)).toEqual(before);
    expect(await ping(t.ns("lh"), HOST_LAN)).toBe(true);
    expect(await must(["ip", "-n", t.host, "route", "get", "10.80.0.5"])).toContain("dev lan0");
    expect(await lab.plan()).toEqual([]);
  });
});
