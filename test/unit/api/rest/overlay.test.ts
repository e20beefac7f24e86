/**
 * Overlay networks through the REST API on a memory kernel: their MTU from the underlay interface, the
 * EncapOverhead policy, and RemoteSubnetRoute policies: what they are checked for and what they plan.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "../../../../src/api/http.js";
import { Etcd3 } from "etcd3";
import { OverlayRegistry } from "../../../../src/cluster/registry.js";
import { overlayBridgeMac } from "../../../../src/model/overlay.js";
import { harness, silent, type Harness } from "../../harness.js";

const HOST = "192.168.77.1";
const VSID = { Type: "VSID", Settings: { IsolationId: 4096 } };
const MAC2 = "02:68:6e:aa:bb:cc";

let h: Harness;
let app: FastifyInstance;

async function start(opts: { underlayMtu?: number; overlay?: OverlayRegistry } = {}): Promise<void> {
  h = harness({
    hostAddress: HOST,
    underlay: { [HOST]: opts.underlayMtu ?? 1500 },
    ...(opts.overlay === undefined ? {} : { overlay: opts.overlay }),
  });
  app = await buildApp(h.service, silent);
}

afterEach(async () => {
  await app.close();
  h.close();
});

const post = (url: string, payload: Record<string, unknown>): Promise<LightMyRequestResponse> =>
  app.inject({ method: "POST", url, payload });

const overlayNet = (
  extra: Record<string, unknown> = {},
  policies: unknown[] = [],
): Record<string, unknown> => ({
  Name: "vxlan0",
  Type: "Overlay",
  Ipams: [{ Subnets: [{ IpAddressPrefix: "10.244.1.0/24" }] }],
  Policies: [VSID, ...policies],
  ...extra,
});

const remote = (
  settings: Record<string, unknown> = {},
): { Type: string; Settings: Record<string, unknown> } => ({
  Type: "RemoteSubnetRoute",
  Settings: {
    DestinationPrefix: "10.244.2.0/24",
    IsolationId: 4096,
    ProviderAddress: "192.168.77.2",
    DistributedRouterMacAddress: MAC2,
    ...settings,
  },
});

function expectField(res: LightMyRequestResponse, status: number, field: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json<{ error: { field?: string } }>().error.field).toBe(field);
}

describe("an overlay network's VXLAN", () => {
  it("takes its UDP port from a VxlanPort policy, and shows it", async () => {
    await start();
    const res = await post("/networks", overlayNet({}, [{ Type: "VxlanPort", Settings: { Port: 4790 } }]));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<{ Policies: unknown[] }>().Policies).toContainEqual({
      Type: "VxlanPort",
      Settings: { Port: 4790 },
    });
    expect(h.kernel.list().find((o) => o.kind === "vxlan")).toMatchObject({ vni: 4096, port: 4790 });
  });
});

describe("an overlay network's MTU", () => {
  it("is the underlay interface's less 50", async () => {
    await start({ underlayMtu: 9000 });
    const res = await post("/networks", overlayNet());
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<{ Mtu: number }>().Mtu).toBe(8950);
    expect(h.kernel.list().filter((o) => o.kind === "bridge" || o.kind === "vxlan")).toMatchObject([
      { mtu: 8950 },
      { mtu: 8950 },
    ]);
  });

  it("is the underlay's less an EncapOverhead policy's, and an explicit Mtu still wins", async () => {
    await start();
    const overhead = { Type: "EncapOverhead", Settings: { Overhead: 100 } };
    const res = await post("/networks", overlayNet({}, [overhead]));
    expect(res.json<{ Mtu: number }>().Mtu).toBe(1400);
    const explicit = await post("/networks", {
      ...overlayNet({ Mtu: 1300 }, [overhead]),
      Name: "vxlan1",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.245.1.0/24" }] }],
    });
    expect(explicit.json<{ Mtu: number }>().Mtu).toBe(1300);
  });

  it("refuses an EncapOverhead that is not a number, leaves too small an MTU, or is on another type", async () => {
    await start();
    const cases: [Record<string, unknown>, string][] = [
      [
        overlayNet({}, [{ Type: "EncapOverhead", Settings: { Overhead: "50" } }]),
        "Policies[1].Settings.Overhead",
      ],
      [
        overlayNet({}, [{ Type: "EncapOverhead", Settings: { Overhead: -1 } }]),
        "Policies[1].Settings.Overhead",
      ],
      [
        overlayNet({}, [{ Type: "EncapOverhead", Settings: { Overhead: 300 } }]),
        "Policies[1].Settings.Overhead",
      ],
      [
        { Name: "n1", Type: "NAT", Policies: [{ Type: "EncapOverhead", Settings: { Overhead: 50 } }] },
        "Policies[0].Settings.Overhead",
      ],
    ];
    for (const [body, field] of cases) expectField(await post("/networks", body), 400, field);
    expect(h.service.networks()).toEqual([]);
  });

  it("cannot be computed when no interface has the host address: 503, nothing recorded", async () => {
    h = harness({ hostAddress: "192.168.77.9", underlay: {} });
    app = await buildApp(h.service, silent);
    expect((await post("/networks", overlayNet())).statusCode).toBe(503);
    expect(h.service.networks()).toEqual([]);
    // An explicit MTU needs no underlay to compute it from.
    expect((await post("/networks", overlayNet({ Mtu: 1400 }))).statusCode).toBe(201);
  });
});

describe("an overlay endpoint's MAC", () => {
  const endpoint = async (body: Record<string, unknown>): Promise<string> => {
    const res = await post("/endpoints", { HostComputeNetwork: "vxlan0", ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ MacAddress: string }>().MacAddress;
  };

  it("follows its IPv4 address, so that it moves with it; a dual-stack endpoint's too", async () => {
    await start();
    await post(
      "/networks",
      overlayNet({
        Ipams: [{ Subnets: [{ IpAddressPrefix: "10.244.1.0/24" }, { IpAddressPrefix: "fd00::/64" }] }],
      }),
    );
    const mac = await endpoint({ Name: "e1", IpConfigurations: [{ IpAddress: "10.244.1.7" }] });
    expect(mac).toBe("02:68:0a:f4:01:07");
  });

  it("follows the low 32 bits of an IPv6-only endpoint's address, unless another endpoint has that MAC", async () => {
    await start();
    await post("/networks", overlayNet({ Ipams: [{ Subnets: [{ IpAddressPrefix: "fd00::/64" }] }] }));
    expect(await endpoint({ Name: "e1", IpConfigurations: [{ IpAddress: "fd00::a:b0c:d0e" }] })).toBe(
      "02:68:0b:0c:0d:0e",
    );
    const other = await endpoint({ Name: "e2", IpConfigurations: [{ IpAddress: "fd00::1:0:b0c:d0e" }] });
    expect(other).not.toBe("02:68:0b:0c:0d:0e");
    expect(other).toMatch(/^02:/);
  });

  it("is the one a request gives, and random on other network types", async () => {
    await start();
    await post("/networks", overlayNet());
    expect(await endpoint({ Name: "e1", MacAddress: "02:aa:bb:cc:dd:ee" })).toBe("02:aa:bb:cc:dd:ee");
    await post("/networks", { Name: "nat0", Ipams: [{ Subnets: [{ IpAddressPrefix: "10.99.0.0/24" }] }] });
    const res = await post("/endpoints", {
      Name: "e2",
      HostComputeNetwork: "nat0",
      IpConfigurations: [{ IpAddress: "10.99.0.7" }],
    });
    expect(res.json<{ MacAddress: string }>().MacAddress).not.toBe("02:68:0a:63:00:07");
  });
});

describe("RemoteSubnetRoute policies", () => {
  it("default the router's MAC to that of the provider's hostnet bridge", async () => {
    await start();
    const res = await post("/networks", overlayNet({}, [remote({ DistributedRouterMacAddress: undefined })]));
    expect(res.statusCode, res.body).toBe(201);
    expect(h.kernel.list().find((o) => o.kind === "overlayPeer")).toMatchObject({
      mac: overlayBridgeMac("192.168.77.2"),
      remote: "192.168.77.2",
    });
  });

  it("route the remote subnet to its router through the VXLAN, and show the bridge's MAC", async () => {
    await start();
    const res = await post("/networks", overlayNet({}, [remote()]));
    expect(res.statusCode, res.body).toBe(201);
    const net = res.json<{ ID: string; Bridge: string; DrMacAddress: string; Policies: unknown[] }>();
    expect(net.DrMacAddress).toBe(overlayBridgeMac(HOST));
    // The VXLAN's policies as HNS shows them, where a client finds the IsolationId a route needs.
    expect(net.Policies).toEqual([VSID, { Type: "VxlanPort", Settings: { Port: 4789 } }, remote()]);
    const vxlan = net.Bridge.replace("hnb-", "hnx-");
    const owner = `net:${net.ID}`;
    expect(h.kernel.list().filter((o) => o.kind === "hostRoute" || o.kind === "overlayPeer")).toEqual([
      {
        kind: "hostRoute",
        owner,
        dev: net.Bridge,
        route: { family: 4, dst: "10.244.2.0/24", via: "10.244.2.0", metric: null, onlink: true },
      },
      {
        kind: "overlayPeer",
        owner,
        vxlan,
        bridge: net.Bridge,
        mac: MAC2,
        addresses: ["10.244.2.0"],
        remote: "192.168.77.2",
      },
    ]);
  });

  it("are added and removed through the network's policies, kernel entries with them", async () => {
    await start();
    await post("/networks", overlayNet());
    const added = await post("/networks/vxlan0/policies", { RequestType: "Add", Policies: [remote()] });
    expect(added.statusCode, added.body).toBe(200);
    expect(h.kernel.list().filter((o) => o.kind === "overlayPeer")).toHaveLength(1);
    // HNS writes MACs with dashes; the same policy in either spelling is one policy.
    const removed = await post("/networks/vxlan0/policies", {
      RequestType: "Remove",
      Policies: [remote({ DistributedRouterMacAddress: MAC2.replaceAll(":", "-").toUpperCase() })],
    });
    expect(removed.statusCode, removed.body).toBe(200);
    expect(h.kernel.list().filter((o) => o.kind === "overlayPeer" || o.kind === "hostRoute")).toEqual([]);
  });

  it("refuse what they cannot route, naming the field and recording nothing", async () => {
    await start();
    await post("/networks", overlayNet({}, [remote()]));
    await post("/networks", {
      Name: "nat1",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.50.0.0/16" }] }],
    });
    const before = h.service.networks();
    const cases: [string, Record<string, unknown>, number, string][] = [
      ["nat1", remote({ DestinationPrefix: "10.244.3.0/24" }), 400, "Policies[0]"],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.244.3.0/24", IsolationId: 4097 }),
        400,
        "Policies[0].Settings.IsolationId",
      ],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.244.1.128/25" }),
        400,
        "Policies[0].Settings.DestinationPrefix",
      ],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.244.0.0/16" }),
        400,
        "Policies[0].Settings.DestinationPrefix",
      ],
      ["vxlan0", remote(), 400, "Policies[0].Settings.DestinationPrefix"],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.244.3.0/24" }),
        400,
        "Policies[0].Settings.DistributedRouterMacAddress",
      ],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.50.1.0/24", DistributedRouterMacAddress: "02:00:00:00:00:03" }),
        409,
        "Policies[0].Settings.DestinationPrefix",
      ],
      [
        "vxlan0",
        remote({ DestinationPrefix: "10.244.3.0/33" }),
        400,
        "Policies[0].Settings.DestinationPrefix",
      ],
      ["vxlan0", remote({ DestinationPrefix: "fd00::/64" }), 400, "Policies[0].Settings.DestinationPrefix"],
      ["vxlan0", remote({ ProviderAddress: "host2" }), 400, "Policies[0].Settings.ProviderAddress"],
      [
        "vxlan0",
        remote({ DistributedRouterMacAddress: "01:00:5e:00:00:01" }),
        400,
        "Policies[0].Settings.DistributedRouterMacAddress",
      ],
      ["vxlan0", remote({ IsolationId: "4096" }), 400, "Policies[0].Settings.IsolationId"],
    ];
    for (const [network, policy, status, field] of cases)
      expectField(
        await post(`/networks/${network}/policies`, { RequestType: "Add", Policies: [policy] }),
        status,
        field,
      );
    const self = remote({
      DestinationPrefix: "10.244.3.0/24",
      DistributedRouterMacAddress: overlayBridgeMac(HOST),
    });
    expectField(
      await post("/networks/vxlan0/policies", { RequestType: "Add", Policies: [self] }),
      400,
      "Policies[0].Settings.DistributedRouterMacAddress",
    );
    expect(h.service.networks()).toEqual(before);
    expectField(
      await post("/endpoints", { Name: "e1", HostComputeNetwork: "vxlan0", Policies: [remote()] }),
      400,
      "Policies[0].Type",
    );
  });

  it("keep another network's subnet from overlapping a routed remote subnet", async () => {
    await start();
    await post("/networks", overlayNet({}, [remote()]));
    const res = await post("/networks", {
      Name: "n2",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.244.2.0/25" }] }],
    });
    expectField(res, 409, "Ipams[0].Subnets[0].IpAddressPrefix");
  });

  it("are refused on a hostnetd with --etcd, whose overlay networks learn other hosts from etcd", async () => {
    // Never started: the refusal comes before anything would reach etcd.
    const registry = new OverlayRegistry(new Etcd3({ hosts: "http://127.0.0.1:9" }), HOST, 10, silent);
    try {
      await start({ overlay: registry });
      expectField(await post("/networks", overlayNet({}, [remote()])), 400, "Policies[1]");
      expect(h.service.networks()).toEqual([]);
    } finally {
      await registry.close();
    }
  });
});
