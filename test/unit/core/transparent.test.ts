/**
 * Transparent networks through the service, with the memory kernel and fake uplinks: the uplink's place on
 * the LAN goes to the bridge, and everything comes back when the network goes, also after a crash.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { UplinkSnapshot } from "../../../src/model/types.js";
import { rejection } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";

const LAN: UplinkSnapshot = {
  dev: "lan0",
  mac: "02:aa:00:00:00:01",
  mtu: 9000,
  up: true,
  addresses: ["10.70.0.1/24"],
  routes: [
    { family: 4, dst: "default", via: "10.70.0.254", metric: null },
    { family: 4, dst: "10.80.0.0/16", via: "10.70.0.253", metric: 50 },
  ],
};
const adapter = { name: "lan0", field: "Policies[0].Settings.NetworkAdapterName" };

const h = freshHarnessPerTest();
beforeEach(() => {
  h.uplinks.nics.set("lan0", LAN);
});

const create = (name = "lan", extra: object = {}) =>
  h.service.createNetwork({ name, type: "Transparent", subnets: [], adapter, ...extra });

describe("Transparent networks", () => {
  it("take the uplink's LAN: its subnet and router, MTU, MAC, addresses and routes, with the uplink as a port", async () => {
    const net = await create();
    expect(net).toMatchObject({
      type: "Transparent",
      adapter: "lan0",
      mtu: 9000,
      subnets: [{ prefix: "10.70.0.0/24", gateway: "10.70.0.254" }],
    });
    const bridge = `hnb-${net.shortId}`;
    expect(h.kernel.objects.get(`link:${bridge}`)).toMatchObject({ mac: LAN.mac, mtu: 9000 });
    expect(h.kernel.has(`addr::${bridge}:10.70.0.1/24`)).toBe(true);
    expect(h.kernel.objects.get("port:lan0")).toMatchObject({ master: bridge });
    expect(h.kernel.has("hostroute:4:default:")).toBe(true);
    expect(h.kernel.has("hostroute:4:10.80.0.0/16:50")).toBe(true);
  });

  it("give endpoints LAN addresses other than the host's, routed through the LAN's router", async () => {
    const net = await create("lan", {
      subnets: [{ prefix: "10.70.0.0/24", prefixField: "s", gateway: "10.70.0.254", gatewayField: "g" }],
    });
    await h.service.createNamespace({ name: `t-${process.pid}-c1` });
    const ep = await h.service.createEndpoint({
      name: "c1",
      network: net.id,
      attach: { namespace: `t-${process.pid}-c1` },
      ips: [],
      portMappings: [],
      policies: [],
    });
    expect(ep.addresses.map((a) => a.address)).toEqual(["10.70.0.2"]);
    expect([...h.kernel.objects.values()].filter((o) => o.kind === "route")).toMatchObject([
      { dst: "default", via: "10.70.0.254" },
    ]);
    const refused = await rejection(
      h.service.createEndpoint({
        name: "c2",
        network: net.id,
        ips: [{ field: "IpConfigurations[0].IpAddress", address: "10.70.0.1" }],
        portMappings: [],
        policies: [],
      }),
    );
    expect(refused).toMatchObject({ code: "Conflict", detail: { field: "IpConfigurations[0].IpAddress" } });
  });

  it("refuse an uplink another network holds with 409, and a missing or unusable one with 400", async () => {
    await create();
    expect(await rejection(create("again"))).toMatchObject({
      code: "Conflict",
      detail: { field: adapter.field },
    });
    expect(
      await rejection(h.service.createNetwork({ name: "x", type: "Transparent", subnets: [] })),
    ).toMatchObject({ code: "InvalidArgument", detail: { field: "adapter" } });
    expect(await rejection(create("y", { adapter: { ...adapter, name: "nope0" } }))).toMatchObject({
      code: "InvalidArgument",
      message: expect.stringContaining("no interface nope0") as string,
    });
    expect(
      await rejection(h.service.createNetwork({ name: "z", type: "NAT", subnets: [], adapter })),
    ).toMatchObject({ code: "InvalidArgument", detail: { field: adapter.field } });
  });

  it("give the uplink back exactly what it had when the network is deleted", async () => {
    const net = await create();
    await h.service.deleteNetwork(net.id);
    expect(h.uplinks.restored).toEqual([LAN]);
    expect(h.store.networks.uplinkRestores()).toEqual([]);
    expect([...h.kernel.objects.values()].filter((o) => o.owner !== "global")).toEqual([]);
  });

  it("give it back at the next start when hostnetd stopped between the deletion and the restore", async () => {
    const net = await create();
    h.store.write(() => {
      h.store.networks.delete(net.id);
      h.store.networks.insertUplinkRestore(LAN);
    });
    const restarted = h.restart();
    await restarted.reconciler.convergeAll();
    await restarted.service.restoreUplinks();
    expect(restarted.uplinks.restored).toEqual([LAN]);
    expect(restarted.store.networks.uplinkRestores()).toEqual([]);
    expect(restarted.kernel.has("port:lan0")).toBe(false);
  });
});

describe("Transparent networks with addresses from the LAN's DHCP server", () => {
  const dhcpNet = () => create("dhcp", { ipam: { value: "dhcp", field: "Ipams[0].Type" } });
  const attached = async (name: string) => {
    await h.service.createNamespace({ name: `t-${process.pid}-${name}` });
    return h.service.createEndpoint({
      name,
      network: "dhcp",
      attach: { namespace: `t-${process.pid}-${name}` },
      ips: [],
      portMappings: [],
      policies: [],
    });
  };

  it("run a client per attached endpoint and converge each lease it reports, and each loss", async () => {
    const net = await dhcpNet();
    expect(net.ipam).toBe("dhcp");
    const ep = await attached("c1");
    expect(ep.addresses).toEqual([]);
    expect(h.dhcp.running.get(ep.id)?.spec).toMatchObject({ ifname: "eth0", hostname: "c1", previous: null });

    await h.dhcp.report(ep.id, {
      kind: "lease",
      address: "10.70.0.120",
      prefixLength: 24,
      router: "10.70.0.254",
    });
    expect(h.service.endpoint(ep.id).addresses.map((a) => a.address)).toEqual(["10.70.0.120"]);
    const path = `/run/netns/t-${process.pid}-c1`;
    expect(h.kernel.has(`addr:${path}:eth0:10.70.0.120/24`)).toBe(true);
    expect(h.kernel.has(`nft:spoofIp4:"hnv-${ep.shortId}" . 10.70.0.120`)).toBe(true);

    await h.dhcp.report(ep.id, { kind: "lost" });
    expect(h.service.endpoint(ep.id).addresses).toEqual([]);
    expect(h.kernel.has(`addr:${path}:eth0:10.70.0.120/24`)).toBe(false);
  });

  it("ask for the last lease's address again after a restart, and stop clients of detached endpoints", async () => {
    await dhcpNet();
    const ep = await attached("c1");
    await h.dhcp.report(ep.id, { kind: "lease", address: "10.70.0.121", prefixLength: 24, router: null });
    h.dhcp.stopAll();
    const restarted = h.restart();
    restarted.leases.resume();
    expect(restarted.dhcp.running.get(ep.id)?.spec.previous).toBe("10.70.0.121");
    await restarted.service.detachEndpoint(ep.id);
    expect(restarted.dhcp.running.has(ep.id)).toBe(false);
  });

  it("refuse static IPv4 addresses on it, and DHCP on types without a LAN", async () => {
    await dhcpNet();
    expect(
      await rejection(
        h.service.createEndpoint({
          name: "c2",
          network: "dhcp",
          ips: [{ field: "IpConfigurations[0].IpAddress", address: "10.70.0.9" }],
          portMappings: [],
          policies: [],
        }),
      ),
    ).toMatchObject({ code: "InvalidArgument", detail: { field: "IpConfigurations[0].IpAddress" } });
    expect(
      await rejection(
        h.service.createNetwork({
          name: "n",
          type: "NAT",
          subnets: [],
          ipam: { value: "dhcp", field: "Ipams[0].Type" },
        }),
      ),
    ).toMatchObject({ code: "InvalidArgument", detail: { field: "Ipams[0].Type" } });
  });
});
