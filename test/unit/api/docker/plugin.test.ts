/**
 * The Docker plugin socket as Docker's remote driver and IPAM clients call it: JSON without a
 * Content-Type, errors in `Err` (network) and `Error` (IPAM), 404 for what hostnet does not implement.
 * The kernel is hostnet's memory kernel; the end-to-end test with a real engine is docker.test.ts.
 */
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildDockerPlugin } from "../../../../src/api/docker/server.js";
import { DockerPools } from "../../../../src/ipam/docker-pools.js";
import { harness, silent, type Harness } from "../../harness.js";
import { lbSpec } from "../../core/requests.js";

let h: Harness;
let app: FastifyInstance;

function plugin(of: Harness): FastifyInstance {
  const pools = new DockerPools(of.store, (family, taken, field) =>
    of.service.freeSubnet(family, taken, field),
  );
  return buildDockerPlugin(of.service, pools, silent);
}

beforeEach(() => {
  h = harness({ hostPrefixes: ["172.16.0.0/16"] });
  app = plugin(h);
});
afterEach(async () => {
  await app.close();
  h.close();
});

const NET = "a".repeat(64);
const EP = "b".repeat(64);
const EP2 = "c".repeat(64);

/** A POST as Docker's plugin client sends it: JSON body, Accept header, no Content-Type. */
async function call(
  method: string,
  body?: unknown,
  on: FastifyInstance = app,
): Promise<Record<string, unknown>> {
  const res = await on.inject({
    method: "POST",
    url: `/${method}`,
    headers: { accept: "application/vnd.docker.plugins.v1.2+json" },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const createNetwork = (extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
  call("NetworkDriver.CreateNetwork", {
    NetworkID: NET,
    Options: { "com.docker.network.enable_ipv6": false, "com.docker.network.generic": {} },
    IPv4Data: [{ AddressSpace: "hostnet-local", Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24" }],
    IPv6Data: null,
    ...extra,
  });

/** CreateNetwork with each `-o` map is refused, the answer naming its field; nothing is created. */
async function expectRefusals(refusals: readonly [Record<string, unknown>, string][]): Promise<void> {
  for (const [generic, field] of refusals) {
    const answer = await call("NetworkDriver.CreateNetwork", {
      NetworkID: "d".repeat(64),
      Options: { "com.docker.network.generic": generic },
      IPv4Data: [{ Pool: "10.78.0.0/24", Gateway: "10.78.0.1/24" }],
    });
    expect(answer["Err"], JSON.stringify(generic)).toContain(field);
  }
}

const createEndpoint = (id: string, iface: Record<string, unknown>, options: unknown = {}) =>
  call("NetworkDriver.CreateEndpoint", {
    NetworkID: NET,
    EndpointID: id,
    Interface: iface,
    Options: options,
  });

describe("handshake", () => {
  it("activates as a network and an IPAM driver, and answers local scope", async () => {
    expect(await call("Plugin.Activate")).toEqual({ Implements: ["NetworkDriver", "IpamDriver"] });
    expect(await call("NetworkDriver.GetCapabilities")).toEqual({
      Scope: "local",
      ConnectivityScope: "local",
    });
    expect(await call("IpamDriver.GetDefaultAddressSpaces")).toEqual({
      LocalDefaultAddressSpace: "hostnet-local",
      GlobalDefaultAddressSpace: "hostnet-global",
    });
  });

  it("answers 404 for a method it does not implement, and 400 for a body that is not JSON", async () => {
    const missing = await app.inject({ method: "POST", url: "/NetworkDriver.GwAllocCheck", payload: "{}" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ Err: expect.stringContaining("not implemented") as string });
    const garbled = await app.inject({
      method: "POST",
      url: "/NetworkDriver.CreateNetwork",
      payload: "{nope",
    });
    expect(garbled.statusCode).toBe(400);
    expect(garbled.json()).toMatchObject({ Err: "the request body is not JSON" });
  });
});

describe("network driver", () => {
  it("creates a hostnet network tagged as Docker's, once, with Docker's pool and gateway", async () => {
    expect(await createNetwork()).toEqual({});
    expect(await createNetwork()).toEqual({});
    const nets = h.service.networks();
    expect(nets).toHaveLength(1);
    expect(nets[0]).toMatchObject({
      name: `docker-${NET.slice(0, 12)}`,
      type: "NAT",
      origin: { kind: "docker", key: NET },
      subnets: [{ prefix: "10.77.0.0/24", gateway: "10.77.0.1" }],
    });
  });

  it("reads mode, MTU and policies from -o, and refuses what it cannot do naming the option", async () => {
    await createNetwork({
      Options: {
        "com.docker.network.generic": {
          mode: "NAT",
          "com.docker.network.driver.mtu": "1400",
          policies:
            '[{"Type":"ACL","Settings":{"Action":"Block","Direction":"In","LocalPorts":"22","Priority":100}}]',
        },
      },
    });
    const net = h.service.networks()[0];
    expect(net?.mtu).toBe(1400);
    expect(net?.policies).toHaveLength(1);

    const refusals: [Record<string, unknown>, string][] = [
      [{ mode: "overlay" }, "Type"],
      [{ mode: "transparent" }, "NetAdapterName"],
      [{ adapter: "eth9" }, 'Options["com.docker.network.generic"].adapter'],
      [{ mode: "bogus" }, 'Options["com.docker.network.generic"].mode'],
      // A VLAN is for the modes on an uplink's LAN, and one of 1 to 4094.
      [{ vlan: "10" }, 'Options["com.docker.network.generic"].vlan'],
      [
        { "com.docker.network.windowsshim.vlanid": "10" },
        'Options["com.docker.network.generic"].com.docker.network.windowsshim.vlanid',
      ],
      [{ mode: "transparent", adapter: "eth9", vlan: "4095" }, 'Options["com.docker.network.generic"].vlan'],
      [{ mode: "transparent", adapter: "eth9", vlan: "ten" }, 'Options["com.docker.network.generic"].vlan'],
      [{ colour: "blue" }, 'Options["com.docker.network.generic"].colour'],
      [{ policies: "[{" }, 'Options["com.docker.network.generic"].policies'],
      [{ policies: '[{"Type":"ACL","Settings":{"Action":"Maybe"}}]' }, "policies[0]"],
    ];
    await expectRefusals(refusals);
    expect(h.service.networks()).toHaveLength(1);
  });

  it("makes -o mode=overlay with -o vni=N, or a VSID policy, an Overlay network, given hostnetd --host-address", async () => {
    const host = harness({ hostAddress: "192.0.2.10", underlay: { "192.0.2.10": 1500 } });
    const on = plugin(host);
    const overlayNetwork = (id: string, pool: string, generic: Record<string, string>) =>
      call(
        "NetworkDriver.CreateNetwork",
        {
          NetworkID: id,
          Options: { "com.docker.network.generic": { mode: "overlay", ...generic } },
          IPv4Data: [{ Pool: pool, Gateway: pool.replace(/0\/24$/, "1/24") }],
        },
        on,
      );
    try {
      expect(await overlayNetwork(NET, "10.79.0.0/24", { vni: "4096" })).toEqual({});
      const vsid = JSON.stringify([{ Type: "VSID", Settings: { IsolationId: 4097 } }]);
      expect(await overlayNetwork("d".repeat(64), "10.80.0.0/24", { policies: vsid })).toEqual({});
      expect(host.service.networks()).toMatchObject([
        { type: "Overlay", mtu: 1450, overlay: { vni: 4096, vxlanPort: 4789, localAddress: "192.0.2.10" } },
        { type: "Overlay", overlay: { vni: 4097 } },
      ]);
      expect(host.kernel.ofKind("vxlan").map((v) => v.vni)).toEqual([4096, 4097]);

      await call(
        "NetworkDriver.CreateEndpoint",
        { NetworkID: NET, EndpointID: EP, Interface: { Address: "10.79.0.2/24" } },
        on,
      );
      const joined = await call(
        "NetworkDriver.Join",
        { NetworkID: NET, EndpointID: EP, SandboxKey: "/x" },
        on,
      );
      expect(joined).toMatchObject({ Gateway: "10.79.0.1", StaticRoutes: [] });

      const vni = 'Options["com.docker.network.generic"].vni';
      const refusals: [Record<string, string>, string][] = [
        [{ vni: "x" }, vni],
        [{ vni: "0" }, vni],
        [{ vni: "4098", policies: vsid }, vni],
        [{ mode: "nat", vni: "4098" }, vni],
      ];
      for (const [generic, field] of refusals) {
        const answer = await overlayNetwork("e".repeat(64), "10.81.0.0/24", generic);
        expect(answer["Err"], JSON.stringify(generic)).toContain(`${field}:`);
      }
      expect(host.service.networks()).toHaveLength(2);
    } finally {
      await on.close();
      host.close();
    }
  });

  it("takes Docker's addresses, answers only the MAC it chose, and hands the veth over at Join", async () => {
    await createNetwork();
    const created = await createEndpoint(EP, { Address: "10.77.0.2/24", AddressIPv6: "", MacAddress: "" });
    const ep = h.service.endpoints()[0];
    expect(ep?.addresses.map((a) => a.address)).toEqual(["10.77.0.2"]);
    expect(created).toEqual({ Interface: { MacAddress: ep?.mac } });
    expect(await createEndpoint(EP2, { Address: "10.77.0.3/24", MacAddress: "02:42:0a:4d:00:03" })).toEqual({
      Interface: {},
    });

    const joined = await call("NetworkDriver.Join", {
      NetworkID: NET,
      EndpointID: EP,
      SandboxKey: "/var/run/docker/netns/0123456789ab",
      Options: {},
    });
    const shortId = ep?.shortId ?? "";
    expect(joined).toEqual({
      InterfaceName: { SrcName: `hnc-${shortId}`, DstPrefix: "eth" },
      Gateway: "10.77.0.1",
      StaticRoutes: [],
    });
    expect(h.kernel.objects.get(`link:hnv-${shortId}`)).toMatchObject({
      kind: "veth",
      peer: `hnc-${shortId}`,
      netns: null,
      peerMac: ep?.mac,
    });
    expect(h.service.endpoint(ep?.id ?? "").attachment).toEqual({
      kind: "handoff",
      sandbox: "/var/run/docker/netns/0123456789ab",
    });

    await call("NetworkDriver.Leave", { NetworkID: NET, EndpointID: EP });
    expect(h.kernel.has(`link:hnv-${shortId}`)).toBe(false);
    await call("NetworkDriver.DeleteEndpoint", { NetworkID: NET, EndpointID: EP });
    await call("NetworkDriver.DeleteEndpoint", { NetworkID: NET, EndpointID: EP });
    await call("NetworkDriver.DeleteEndpoint", { NetworkID: NET, EndpointID: EP2 });
    await call("NetworkDriver.DeleteNetwork", { NetworkID: NET });
    expect(h.service.networks()).toEqual([]);
    expect([...h.kernel.objects.values()].filter((o) => o.owner !== "global")).toEqual([]);
  });

  it("makes --internal an Internal network and -o mode=private a Private one, whose Join adds no way out", async () => {
    await createNetwork({ Options: { "com.docker.network.internal": true } });
    await call("NetworkDriver.CreateNetwork", {
      NetworkID: "d".repeat(64),
      Options: { "com.docker.network.generic": { mode: "private" } },
      IPv4Data: [{ Pool: "10.78.0.0/24", Gateway: "10.78.0.1/24" }],
    });
    expect(h.service.networks().map((n) => n.type)).toEqual(["Internal", "Private"]);
    await createEndpoint(EP, { Address: "10.77.0.2/24" });
    expect(await call("NetworkDriver.Join", { NetworkID: NET, EndpointID: EP, SandboxKey: "/x" })).toEqual({
      InterfaceName: { SrcName: `hnc-${h.service.endpoints()[0]?.shortId ?? ""}`, DstPrefix: "eth" },
      StaticRoutes: [],
      DisableGatewayService: true,
    });
  });

  it("takes a MAC Docker passes in the endpoint options, base64 as Go encodes it", async () => {
    await createNetwork();
    const mac = Buffer.from([0x02, 0x42, 0x0a, 0x4d, 0x00, 0x09]).toString("base64");
    expect(
      await createEndpoint(
        EP,
        { Address: "10.77.0.9/24" },
        { "com.docker.network.endpoint.macaddress": mac },
      ),
    ).toEqual({ Interface: {} });
    expect(h.service.endpoints()[0]?.mac).toBe("02:42:0a:4d:00:09");
  });

  it("reads the network's Dns from -o dns*, the container's --dns from the endpoint options, and refuses bad ones naming the option", async () => {
    await createNetwork({
      Options: {
        "com.docker.network.generic": {
          dns: "10.99.0.53, 10.99.0.54",
          "dns-search": "Corp.Example,example",
          "dns-option": "ndots:2",
          "dns-domain": "app.example",
          "dns-resolver": "false",
        },
      },
    });
    const net = h.service.networks()[0];
    expect(net?.dns).toEqual({
      servers: ["10.99.0.53", "10.99.0.54"],
      search: ["corp.example", "example"],
      options: ["ndots:2"],
      domain: "app.example",
    });
    expect(net?.resolver).toBe(false);
    // dockerd's --dns with more servers than its own resolver asks: the first three, as it does.
    const servers = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"];
    await createEndpoint(
      EP,
      { Address: "10.77.0.9/24" },
      { "com.docker.network.endpoint.dnsservers": servers },
    );
    expect(h.service.endpoints()[0]?.dns.servers).toEqual(servers.slice(0, 3));

    const refusals: [Record<string, unknown>, string][] = [
      [{ dns: "10.99.0.300" }, 'Options["com.docker.network.generic"].dns[0]'],
      [{ "dns-search": "ok,no..dots" }, 'Options["com.docker.network.generic"].dns-search[1]'],
      [{ "dns-resolver": "maybe" }, 'Options["com.docker.network.generic"].dns-resolver'],
      [
        { mode: "transparent", adapter: "eth0", "dns-resolver": "true" },
        'Options["com.docker.network.generic"].dns-resolver: Transparent networks have no gateway',
      ],
    ];
    await expectRefusals(refusals);
    const bad = await createEndpoint(
      EP2,
      { Address: "10.77.0.10/24" },
      {
        "com.docker.network.endpoint.dnsservers": "192.0.2.1",
      },
    );
    expect(bad["Err"]).toContain('Options["com.docker.network.endpoint.dnsservers"]');
  });

  it("returns SDNRoute policies as static routes, and endpoint policies from --driver-opt", async () => {
    await createNetwork();
    await createEndpoint(
      EP,
      { Address: "10.77.0.2/24" },
      {
        policies: JSON.stringify([
          { Type: "SDNRoute", Settings: { DestinationPrefix: "192.0.2.0/24", NextHop: "10.77.0.254" } },
          { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000 } },
        ]),
      },
    );
    const joined = await call("NetworkDriver.Join", { NetworkID: NET, EndpointID: EP, SandboxKey: "/x" });
    expect(joined["StaticRoutes"]).toEqual([
      { Destination: "192.0.2.0/24", RouteType: 0, NextHop: "10.77.0.254" },
    ]);
    expect(h.service.endpoints()[0]?.policies.map((p) => p.type)).toEqual(["SDNRoute", "QOS"]);
    const published = await createEndpoint(
      EP2,
      { Address: "10.77.0.3/24" },
      {
        policies: JSON.stringify([
          { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } },
        ]),
      },
    );
    expect(published["Err"]).toContain("Options.policies[0].Type: Docker publishes ports itself");
  });

  it("publishes ports at ProgramExternalConnectivity, picking free ones when Docker leaves it to hostnet", async () => {
    await createNetwork();
    await createEndpoint(EP, { Address: "10.77.0.2/24" });
    await createEndpoint(EP2, { Address: "10.77.0.3/24" });
    const portmap = (entries: unknown[]) => ({ "com.docker.network.portmap": entries });
    await call("NetworkDriver.ProgramExternalConnectivity", {
      NetworkID: NET,
      EndpointID: EP,
      Options: portmap([
        { Proto: 6, IP: "", Port: 80, HostIP: "", HostPort: 8080, HostPortEnd: 8080 },
        { Proto: 6, IP: "", Port: 80, HostIP: "", HostPort: 8080, HostPortEnd: 8080 },
        { Proto: 17, IP: "", Port: 53, HostIP: "127.0.0.1", HostPort: 5353, HostPortEnd: 0 },
        { Proto: 6, IP: "", Port: 443, HostIP: "", HostPort: 0, HostPortEnd: 0 },
      ]),
    });
    await call("NetworkDriver.ProgramExternalConnectivity", {
      NetworkID: NET,
      EndpointID: EP2,
      Options: portmap([
        { Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8082 },
        { Proto: 6, Port: 443, HostPort: 0 },
      ]),
    });
    const ports = (id: string) =>
      h.service
        .endpointByOrigin({ kind: "docker", key: id })
        ?.portMappings.map((m) => [m.protocol, m.hostIp, m.hostPort, m.internalPort]);
    expect(ports(EP)).toEqual(
      expect.arrayContaining([
        ["tcp", null, 8080, 80],
        ["udp", "127.0.0.1", 5353, 53],
        ["tcp", null, 49153, 443],
      ]),
    );
    expect(ports(EP)).toHaveLength(3);
    expect(ports(EP2)).toEqual(
      expect.arrayContaining([
        ["tcp", null, 8081, 80],
        ["tcp", null, 49154, 443],
      ]),
    );
    const info = await call("NetworkDriver.EndpointOperInfo", { NetworkID: NET, EndpointID: EP2 });
    expect(info["Value"]).toMatchObject({ "com.docker.network.portmap": expect.any(Array) as unknown[] });

    const taken = await call("NetworkDriver.ProgramExternalConnectivity", {
      NetworkID: NET,
      EndpointID: EP2,
      Options: portmap([{ Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080 }]),
    });
    expect(taken["Err"]).toContain("8080");
    const sctp = await call("NetworkDriver.ProgramExternalConnectivity", {
      NetworkID: NET,
      EndpointID: EP2,
      Options: portmap([{ Proto: 132, Port: 80, HostPort: 9000 }]),
    });
    expect(sctp["Err"]).toContain('Options["com.docker.network.portmap"][0].Proto');
    expect(ports(EP2)).toHaveLength(2);

    await call("NetworkDriver.RevokeExternalConnectivity", { NetworkID: NET, EndpointID: EP });
    expect(ports(EP)).toEqual([]);
  });

  it("publishes no host port a NodePort load balancer has: refused when asked for, skipped when chosen", async () => {
    await createNetwork();
    await createEndpoint(EP, { Address: "10.77.0.2/24" });
    await h.service.loadBalancers.create(lbSpec("np", [], []));
    const publish = (entry: Record<string, unknown>) =>
      call("NetworkDriver.ProgramExternalConnectivity", {
        NetworkID: NET,
        EndpointID: EP,
        Options: { "com.docker.network.portmap": [{ Proto: 6, Port: 8080, ...entry }] },
      });
    const refused = await publish({ HostPort: 80, HostPortEnd: 80 });
    expect(refused["Err"]).toMatch(/^Options\["com\.docker\.network\.portmap"\]\[0\]: .*NodePort/);
    expect(h.service.endpointByOrigin({ kind: "docker", key: EP })?.portMappings).toEqual([]);
    expect((await publish({ HostPort: 80, HostPortEnd: 82 }))["Err"]).toBeUndefined();
    expect(
      h.service.endpointByOrigin({ kind: "docker", key: EP })?.portMappings.map((m) => m.hostPort),
    ).toEqual([81]);
  });

  it("knows Docker's networks and endpoints after a restart, which Docker never replays", async () => {
    await createNetwork();
    await createEndpoint(EP, { Address: "10.77.0.2/24" });
    const again = h.restart();
    const restarted = plugin(again);
    try {
      const joined = await call(
        "NetworkDriver.Join",
        { NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/x" },
        restarted,
      );
      expect(joined).toMatchObject({ Gateway: "10.77.0.1" });
      await createEndpoint(EP2, { Address: "10.77.0.3/24" });
    } finally {
      await restarted.close();
    }
  });

  it("names what hostnetd refuses as its answers always have", async () => {
    await createNetwork();
    const multicast = await createEndpoint(EP, { Address: "10.77.0.2/24", MacAddress: "01:00:5e:00:00:01" });
    expect(multicast["Err"]).toMatch(/^MacAddress: /);
    expect(h.service.endpoints()).toEqual([]);
  });

  it("answers errors in Err, naming the field, and changes nothing", async () => {
    await createNetwork();
    const outside = await createEndpoint(EP, { Address: "10.99.0.2/24" });
    expect(outside["Err"]).toContain("Interface.Address");
    const unknown = await call("NetworkDriver.Join", { NetworkID: NET, EndpointID: EP, SandboxKey: "/x" });
    expect(unknown["Err"]).toContain("not found");
    expect(h.service.endpoints()).toEqual([]);
  });
});

describe("IPAM driver", () => {
  const requestPool = (body: Record<string, unknown>) =>
    call("IpamDriver.RequestPool", {
      AddressSpace: "hostnet-local",
      Pool: "",
      SubPool: "",
      Options: {},
      V6: false,
      ...body,
    });

  it("hands out pools and addresses as Docker asks for them, and shares identical pools", async () => {
    const auto = await requestPool({});
    expect(auto).toMatchObject({ Pool: "172.17.0.0/16", Data: {} });
    const gw = await call("IpamDriver.RequestAddress", {
      PoolID: auto["PoolID"],
      Address: "",
      Options: { RequestAddressType: "com.docker.network.gateway" },
    });
    expect(gw).toEqual({ Address: "172.17.0.1/16", Data: {} });
    expect(await call("IpamDriver.RequestAddress", { PoolID: auto["PoolID"], Address: "" })).toMatchObject({
      Address: "172.17.0.2/16",
    });

    const fixed = await requestPool({ Pool: "10.80.0.0/24", SubPool: "10.80.0.128/25" });
    expect(await requestPool({ Pool: "10.80.0.0/24", SubPool: "10.80.0.128/25" })).toEqual(fixed);
    expect(await call("IpamDriver.RequestAddress", { PoolID: fixed["PoolID"], Address: "" })).toMatchObject({
      Address: "10.80.0.128/24",
    });
    await call("IpamDriver.ReleasePool", { PoolID: fixed["PoolID"] });
    expect(
      await call("IpamDriver.RequestAddress", { PoolID: fixed["PoolID"], Address: "10.80.0.200" }),
    ).toMatchObject({
      Address: "10.80.0.200/24",
    });
    await call("IpamDriver.ReleasePool", { PoolID: fixed["PoolID"] });
    expect(
      (await call("IpamDriver.RequestAddress", { PoolID: fixed["PoolID"], Address: "" }))["Error"],
    ).toContain("not found");

    const v6 = await requestPool({ V6: true });
    expect(v6["Pool"]).toBe("fd68:6f73:746e::/64");
  });

  it("answers errors in Error, naming the field", async () => {
    expect((await requestPool({ SubPool: "10.1.0.0/24" }))["Error"]).toContain("SubPool");
    expect((await requestPool({ Pool: "10.1.0.0" }))["Error"]).toContain("Pool");
    expect((await requestPool({ Pool: "fd00::/64" }))["Error"]).toContain("V6");
    await requestPool({ Pool: "10.81.0.0/16" });
    expect((await requestPool({ Pool: "10.81.1.0/24" }))["Error"]).toContain("overlaps");
    const pool = await requestPool({ Pool: "10.82.0.0/30" });
    const first = await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "" });
    expect(first["Address"]).toBe("10.82.0.1/30");
    expect(
      (await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "10.82.0.1" }))["Error"],
    ).toContain("already allocated");
    expect(
      (await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "10.82.0.3" }))["Error"],
    ).toContain("Address");
    await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "" });
    expect(
      (await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "" }))["Error"],
    ).toContain("no free address");
    await call("IpamDriver.ReleaseAddress", { PoolID: pool["PoolID"], Address: "10.82.0.1/30" });
    expect(
      (await call("IpamDriver.RequestAddress", { PoolID: pool["PoolID"], Address: "" }))["Address"],
    ).toBe("10.82.0.1/30");
  });

  it("picks pools that avoid hostnet's networks and the host's routes", async () => {
    await createNetwork({ IPv4Data: [{ Pool: "172.17.0.0/16", Gateway: "172.17.0.1/16" }] });
    expect((await requestPool({}))["Pool"]).toBe("172.18.0.0/16");
    expect((await requestPool({}))["Pool"]).toBe("172.19.0.0/16");
  });
});
