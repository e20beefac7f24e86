/**
 * Issue 17's inputs through the REST door: what a well-meaning or careless client sends that hostnetd must
 * answer with a clear 4xx (never a 500, never silently something else). Single bad requests are fixtures
 * (test/fixtures/invalid); these need more than one request or look at more than the error.
 */
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../../../src/api/http.js";
import type { Op } from "../../../../src/dataplane/plan.js";
import { limits } from "../../../../src/model/limits.js";
import { MemoryKernel } from "../../../helpers/memory-kernel.js";
import { harness, silent, type Harness } from "../../harness.js";

let h: Harness;
let app: FastifyInstance;

beforeEach(async () => {
  h = harness();
  app = await buildApp(h.service, silent);
  await h.service.createNetwork({
    name: "n",
    type: "NAT",
    subnets: [{ prefix: "10.98.0.0/24", prefixField: "p", gatewayField: "g" }],
  });
});
afterEach(async () => {
  await app.close();
  h.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });
const errorOf = (body: string): { code: string; message: string; field?: string } =>
  (JSON.parse(body) as { error: { code: string; message: string; field?: string } }).error;

describe("MAC addresses", () => {
  it("a MAC another endpoint of the network has is a conflict (409) naming MacAddress", async () => {
    const mac = "02:00:00:00:00:01";
    expect(
      (await post("/endpoints", { Name: "a", HostComputeNetwork: "n", MacAddress: mac })).statusCode,
    ).toBe(201);
    const res = await post("/endpoints", {
      Name: "b",
      HostComputeNetwork: "n",
      MacAddress: mac.toUpperCase(),
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(errorOf(res.body)).toMatchObject({ code: "Conflict", field: "MacAddress" });
    expect(errorOf(res.body).message).toContain('"a"');
    expect(h.service.endpoints().map((e) => e.name)).toEqual(["a"]);
  });

  it("the same MAC on another network is no conflict: each bridge is its own segment", async () => {
    await h.service.createNetwork({
      name: "m",
      type: "NAT",
      subnets: [{ prefix: "10.97.0.0/24", prefixField: "p", gatewayField: "g" }],
    });
    const mac = "02:00:00:00:00:02";
    expect(
      (await post("/endpoints", { Name: "a", HostComputeNetwork: "n", MacAddress: mac })).statusCode,
    ).toBe(201);
    expect(
      (await post("/endpoints", { Name: "b", HostComputeNetwork: "m", MacAddress: mac })).statusCode,
    ).toBe(201);
  });
});

describe("PrefixLength", () => {
  it("is accepted when it is the subnet's, and when 0 (HNS's unset)", async () => {
    for (const [name, PrefixLength] of [
      ["a", 24],
      ["b", 0],
    ] as const) {
      const res = await post("/endpoints", {
        Name: name,
        HostComputeNetwork: "n",
        IpConfigurations: [{ IpAddress: `10.98.0.${name === "a" ? 5 : 6}`, PrefixLength }],
      });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
});

describe("long URLs", () => {
  it("a path segment too long is refused without echoing the URL", async () => {
    const ref = "x".repeat(5000);
    const res = await app.inject({ method: "GET", url: `/networks/${ref}` });
    expect(res.statusCode).toBe(414);
    expect(res.body).not.toContain("xxxxxxxxxx");
    expect(errorOf(res.body).code).toBe("InvalidArgument");
  });

  it("a name of 128 characters, the longest there is, is found by its name", async () => {
    const name = "n".repeat(128);
    await h.service.createNetwork({
      name,
      type: "NAT",
      subnets: [{ prefix: "10.96.0.0/24", prefixField: "p", gatewayField: "g" }],
    });
    const res = await app.inject({ method: "GET", url: `/networks/${name}` });
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe("subnets that would cut the host off", () => {
  const host = [
    { address: "192.168.1.10", what: "an address of eth0" },
    { address: "10.0.2.2", what: "the default gateway (via eth0)" },
  ];
  const subnet = (prefix: string) => ({ Ipams: [{ Subnets: [{ IpAddressPrefix: prefix }] }] });

  it.each([
    ["the host's own address", "192.168.0.0/16", "192.168.1.10"],
    ["the default gateway", "10.0.2.0/24", "10.0.2.2"],
  ])("a NAT or Private subnet holding %s is refused (409) naming the field", async (_what, prefix, held) => {
    const hh = harness({ hostAddresses: host });
    const a = await buildApp(hh.service, silent);
    for (const Type of ["NAT", "Private"]) {
      const res = await a.inject({
        method: "POST",
        url: "/networks",
        payload: { Name: "x", Type, ...subnet(prefix) },
      });
      expect(res.statusCode, res.body).toBe(409);
      expect(errorOf(res.body)).toMatchObject({
        code: "Conflict",
        field: "Ipams[0].Subnets[0].IpAddressPrefix",
      });
      expect(errorOf(res.body).message).toContain(held);
    }
    expect(hh.service.networks()).toEqual([]);
    const beside = await a.inject({
      method: "POST",
      url: "/networks",
      payload: { Name: "y", ...subnet("10.0.3.0/24") },
    });
    expect(beside.statusCode, beside.body).toBe(201);
    await a.close();
    hh.close();
  });

  it("a Transparent network's subnet is the LAN's, which holds the host and its gateway: accepted", async () => {
    const hh = harness({ hostAddresses: host });
    hh.uplinks.nics.set("lan0", {
      dev: "lan0",
      mac: "02:00:00:00:0a:01",
      mtu: 1500,
      up: true,
      addresses: ["192.168.1.10/24"],
      routes: [],
    });
    const net = await hh.service.createNetwork({
      name: "lan",
      type: "Transparent",
      adapter: { name: "lan0", field: "a" },
      subnets: [{ prefix: "192.168.1.0/24", prefixField: "s", gateway: "192.168.1.1", gatewayField: "g" }],
    });
    expect(net.subnets.map((s) => s.prefix)).toEqual(["192.168.1.0/24"]);
    hh.close();
  });
});

/** A kernel whose applies wait until the test lets them through, as a long converge would. */
class HeldKernel extends MemoryKernel {
  private release: (() => void) | undefined;
  private gate: Promise<void> = Promise.resolve();
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  letGo(): void {
    this.release?.();
  }
  override async apply(ops: readonly Op[]): Promise<void> {
    await this.gate;
    await super.apply(ops);
  }
}

describe("responsiveness during a long converge", () => {
  it("GETs answer while a load balancer is still being applied: they wait on no converge", async () => {
    const kernel = new HeldKernel();
    const hh = harness({ kernel });
    const a = await buildApp(hh.service, silent);
    await hh.service.createNetwork({
      name: "n",
      type: "NAT",
      subnets: [{ prefix: "10.98.0.0/24", prefixField: "p", gatewayField: "g" }],
    });
    await hh.service.createEndpoint({ name: "b", network: "n", ips: [], portMappings: [], policies: [] });
    kernel.hold();
    const vips = Array.from({ length: 4 }, (_, i) => `198.51.100.${i + 1}`);
    const ports = Array.from({ length: 8 }, (_, i) => ({
      Protocol: 6,
      InternalPort: 80,
      ExternalPort: 1000 + i,
    }));
    let created = false;
    const create = a
      .inject({
        method: "POST",
        url: "/loadbalancers",
        payload: { HostComputeEndpoints: ["b"], FrontendVIPs: vips, PortMappings: ports },
      })
      .then((res) => {
        created = true;
        return res;
      });
    for (const url of ["/networks", "/endpoints", "/loadbalancers", "/namespaces"]) {
      const res = await a.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
    }
    expect(created).toBe(false);
    kernel.letGo();
    expect((await create).statusCode).toBe(201);
    await a.close();
    hh.close();
  });
});

describe("limits", () => {
  const many = <T>(n: number, item: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => item(i));
  const portMapping = (i: number) => ({ Protocol: 6, InternalPort: 80, ExternalPort: 1000 + i });

  it.each([
    [
      "an endpoint's Policies",
      "/endpoints",
      {
        Name: "e",
        HostComputeNetwork: "n",
        Policies: many(limits.policies + 1, (i) => ({ Type: "PortMapping", Settings: portMapping(i) })),
      },
      "Policies",
    ],
    [
      "a load balancer's PortMappings",
      "/loadbalancers",
      {
        HostComputeEndpoints: ["b"],
        FrontendVIPs: ["198.51.100.1"],
        PortMappings: many(limits.lbPortMappings + 1, portMapping),
      },
      "PortMappings",
    ],
    [
      "OutBoundNAT's Exceptions",
      "/endpoints",
      {
        Name: "e",
        HostComputeNetwork: "n",
        Policies: [
          {
            Type: "OutBoundNAT",
            Settings: { Exceptions: many(limits.settingsList + 1, (i) => `10.${i >> 8}.${i & 255}.0/24`) },
          },
        ],
      },
      "Policies[0].Settings.Exceptions",
    ],
  ])(
    "%s beyond the limit are refused (400) naming the list and the limit",
    async (_what, url, body, field) => {
      const res = await post(url, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res.body).field).toBe(field);
      expect(errorOf(res.body).message).toMatch(/\b(64|256|1024)\b/);
      expect(h.service.endpoints()).toEqual([]);
    },
  );

  it("a load balancer's backends beyond the limit are refused (400) naming the first one beyond it", async () => {
    const res = await post("/loadbalancers", {
      HostComputeEndpoints: many(limits.lbBackends + 1, (i) => `e${i}`),
      FrontendVIPs: ["198.51.100.1"],
      PortMappings: [portMapping(0)],
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res.body).field).toBe(`HostComputeEndpoints[${limits.lbBackends}]`);
    expect(errorOf(res.body).message).toContain(String(limits.lbBackends));
  });

  describe("the nft elements of a load balancer: VIPs × port mappings × backends", () => {
    // 16 VIPs × 64 port mappings: 64 backends are 65,536 elements, the most; a 65th is beyond.
    const vips = many(16, (i) => `198.51.100.${i + 1}`);
    const ports = many(64, portMapping);
    const backends = many(65, (i) => `b${i}`);
    beforeEach(async () => {
      for (const name of backends)
        await h.service.createEndpoint({ name, network: "n", ips: [], portMappings: [], policies: [] });
    });

    it("beyond the limit at create: 400 naming the backend that takes it beyond, nothing made", async () => {
      const res = await post("/loadbalancers", {
        HostComputeEndpoints: backends,
        FrontendVIPs: vips,
        PortMappings: ports,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ code: "InvalidArgument", field: "HostComputeEndpoints[64]" });
      expect(errorOf(res.body).message).toContain("66560");
      expect(h.service.loadBalancers.list()).toEqual([]);
    });

    it("beyond the limit at add-backend: 400 naming the backend, the load balancer unchanged", async () => {
      const created = await post("/loadbalancers", {
        Name: "big",
        HostComputeEndpoints: backends.slice(0, 64),
        FrontendVIPs: vips,
        PortMappings: ports,
      });
      expect(created.statusCode, created.body).toBe(201);
      const res = await post("/loadbalancers/big/endpoints", {
        RequestType: "Add",
        HostComputeEndpoints: ["b64"],
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res.body)).toMatchObject({ code: "InvalidArgument", field: "HostComputeEndpoints[0]" });
      expect(errorOf(res.body).message).toContain(String(limits.lbElements));
      expect(h.service.loadBalancers.get("big").backends).toHaveLength(64);
      // 65,536 elements planned and rendered: seconds on a loaded machine.
    }, 60_000);
  });
});
