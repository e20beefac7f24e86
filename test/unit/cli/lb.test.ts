import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadBalancerWire as LoadBalancer } from "../../../src/api/rest/load-balancers.js";
import type { EndpointWire as Endpoint } from "../../../src/api/rest/wire.js";
import { lbCreateRequest, lbTable, parseLbPort } from "../../../src/cli/lb.js";
import { runCli, startFakeHostnetd, type FakeHostnetd } from "./fake-hostnetd.js";
import { web1Endpoint } from "./samples.js";

const web: LoadBalancer = {
  ID: "3f2a9c1e-7b6d-4e5f-8a9b-0c1d2e3f4a5b",
  Name: "web",
  HostComputeEndpoints: [web1Endpoint.ID],
  FrontendVIPs: ["198.51.100.10"],
  PortMappings: [{ Protocol: 6, ExternalPort: 80, InternalPort: 8080, Flags: 0 }],
  Flags: 0,
  CreatedAt: "2026-01-01T00:00:00.000Z",
};

describe("hostnet lb create", () => {
  it("builds the request from the flags, ILB on every port", () => {
    expect(
      lbCreateRequest("web", {
        vip: ["198.51.100.10", "2001:db8::10"],
        port: ["80:8080", "53:5353/udp"],
        backend: ["web1", "web2"],
        ilb: true,
        "source-vip": "203.0.113.5",
      }),
    ).toEqual({
      Name: "web",
      FrontendVIPs: ["198.51.100.10", "2001:db8::10"],
      PortMappings: [
        { Protocol: "TCP", ExternalPort: 80, InternalPort: 8080, Flags: 1 },
        { Protocol: "UDP", ExternalPort: 53, InternalPort: 5353, Flags: 1 },
      ],
      HostComputeEndpoints: ["web1", "web2"],
      SourceVIP: "203.0.113.5",
    });
  });

  it("sends ports without Flags unless --ilb, and no SourceVIP unless --source-vip", () => {
    expect(lbCreateRequest("web", { vip: ["198.51.100.10"], port: ["80:8080/TCP"] })).toEqual({
      Name: "web",
      FrontendVIPs: ["198.51.100.10"],
      PortMappings: [{ Protocol: "TCP", ExternalPort: 80, InternalPort: 8080 }],
      HostComputeEndpoints: [],
    });
  });

  it("sets LocalRoutedVip with --ilb --local-routed-vip and SourceIP distribution with --affinity", () => {
    expect(
      lbCreateRequest("dns", {
        vip: ["10.96.0.10"],
        port: ["53:53/udp"],
        ilb: true,
        "local-routed-vip": true,
        affinity: true,
      }).PortMappings,
    ).toEqual([{ Protocol: "UDP", ExternalPort: 53, InternalPort: 53, Flags: 3, DistributionType: 2 }]);
    expect(() =>
      lbCreateRequest("dns", { vip: ["10.96.0.10"], port: ["53:53/udp"], "local-routed-vip": true }),
    ).toThrow("--local-routed-vip needs --ilb");
  });

  it("sends AffinityTimeoutSeconds with --affinity-timeout, a whole number of seconds", () => {
    expect(
      lbCreateRequest("web", {
        vip: ["2001:db8::10"],
        port: ["80:8080"],
        affinity: true,
        "affinity-timeout": "2",
      }),
    ).toMatchObject({ PortMappings: [{ DistributionType: 2 }], AffinityTimeoutSeconds: 2 });
    expect(() =>
      lbCreateRequest("web", { vip: ["198.51.100.1"], port: ["80:80"], "affinity-timeout": "2h" }),
    ).toThrow('--affinity-timeout "2h" is not a whole number of seconds');
  });

  it("sets the DSR flag on the load balancer with --dsr", () => {
    expect(lbCreateRequest("web", { vip: ["198.51.100.10"], port: ["80:80"], dsr: true })).toMatchObject({
      Flags: 1,
      PortMappings: [{ Protocol: "TCP", ExternalPort: 80, InternalPort: 80 }],
    });
  });

  it("refuses a missing port and a port that is not EXT:INT; without --vip asks for a NodePort", () => {
    expect(lbCreateRequest("x", { port: ["80:80"], "local-routed-vip": true, ipv6: true })).toMatchObject({
      FrontendVIPs: [],
      PortMappings: [{ Flags: 2 }],
      Flags: 2,
    });
    expect(() => lbCreateRequest("x", { vip: ["198.51.100.1"] })).toThrow("--port");
    for (const bad of ["80", "80:0", "70000:80", "80:80/sctp", "a:b", "1.2.3.4:80:80", "80:80/"])
      expect(() => parseLbPort(bad), bad).toThrow(`--port "${bad}"`);
  });
});

describe("hostnet lb ls", () => {
  it("shows VIPs, ports and backends by name", () => {
    const lb: LoadBalancer = {
      ID: "3f2a9c1e-7b6d-4e5f-8a9b-0c1d2e3f4a5b",
      Name: "web",
      HostComputeEndpoints: ["11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"],
      FrontendVIPs: ["198.51.100.10"],
      PortMappings: [{ Protocol: 6, ExternalPort: 80, InternalPort: 8080, Flags: 0 }],
      Flags: 0,
      CreatedAt: "2026-01-01T00:00:00.000Z",
    };
    const web1 = { ID: "11111111-0000-4000-8000-000000000001", Name: "web1" } as Endpoint;
    expect(lbTable([lb], [web1]).split("\n")).toEqual([
      "ID             NAME   VIPS            PORTS          BACKENDS            ILB",
      "3f2a9c1e-7b6   web    198.51.100.10   80->8080/tcp   web1,22222222-000   no",
    ]);
  });

  it("shows UDP, every VIP, ILB and a load balancer without backends", () => {
    const dns: LoadBalancer = {
      ...web,
      Name: "dns",
      HostComputeEndpoints: [],
      FrontendVIPs: ["10.96.0.10", "fd96::10"],
      PortMappings: [
        { Protocol: 17, ExternalPort: 53, InternalPort: 53, Flags: 1 },
        { Protocol: 6, ExternalPort: 53, InternalPort: 53, Flags: 1 },
      ],
    };
    expect(lbTable([dns], []).split("\n")[1]).toBe(
      "3f2a9c1e-7b6   dns    10.96.0.10,fd96::10   53->53/udp,53->53/tcp   -          yes",
    );
    expect(lbTable([], [])).toBe("ID   NAME   VIPS   PORTS   BACKENDS   ILB");
  });
});

describe("hostnet lb against hostnetd", () => {
  let hostnetd: FakeHostnetd;
  beforeEach(async () => {
    hostnetd = await startFakeHostnetd();
  });
  afterEach(async () => {
    await hostnetd.close();
  });
  const cli = (...argv: string[]): ReturnType<typeof runCli> =>
    runCli(["--socket", hostnetd.socket, ...argv]);
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

  it("create sends the HNS body and prints the new ID, or with --json the API's answer", async () => {
    hostnetd.on("POST", "/loadbalancers", { status: 201, body: web });
    expect(
      await cli("lb", "create", "web", "--vip", "198.51.100.10", "--port", "80:8080", "--backend", "web1"),
    ).toStrictEqual({ code: 0, stdout: `${web.ID}\n`, stderr: "" });
    expect(
      (await cli("lb", "create", "web", "--vip", "198.51.100.10", "--port", "80:8080", "--json")).stdout,
    ).toBe(json(web));
    expect(hostnetd.requests[0]).toStrictEqual({
      method: "POST",
      url: "/loadbalancers",
      contentType: "application/json",
      body: {
        Name: "web",
        FrontendVIPs: ["198.51.100.10"],
        PortMappings: [{ Protocol: "TCP", ExternalPort: 80, InternalPort: 8080 }],
        HostComputeEndpoints: ["web1"],
      },
    });
  });

  it("update sends the whole load balancer as create does, with PUT, and is quiet unless --json", async () => {
    hostnetd.on("PUT", "/loadbalancers/web", { status: 200, body: web });
    const args = ["--vip", "198.51.100.10", "--port", "80:8080", "--backend", "web1", "--backend", "web2"];
    expect(await cli("lb", "update", "web", ...args, "--dsr")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect((await cli("lb", "update", "web", ...args, "--json")).stdout).toBe(json(web));
    expect(hostnetd.requests[0]).toStrictEqual({
      method: "PUT",
      url: "/loadbalancers/web",
      contentType: "application/json",
      body: {
        Name: "web",
        FrontendVIPs: ["198.51.100.10"],
        PortMappings: [{ Protocol: "TCP", ExternalPort: 80, InternalPort: 8080 }],
        HostComputeEndpoints: ["web1", "web2"],
        Flags: 1,
      },
    });
  });

  it("add-backend and rm-backend send one endpoint each and are quiet unless --json", async () => {
    hostnetd.on("POST", "/loadbalancers/web/endpoints", { status: 200, body: web });
    expect(await cli("lb", "add-backend", "web", "web1")).toStrictEqual({ code: 0, stdout: "", stderr: "" });
    expect(await cli("lb", "rm-backend", "web", "web1", "--json")).toStrictEqual({
      code: 0,
      stdout: json(web),
      stderr: "",
    });
    expect(hostnetd.requests.map((r) => r.body)).toStrictEqual([
      { RequestType: "Add", HostComputeEndpoints: ["web1"] },
      { RequestType: "Remove", HostComputeEndpoints: ["web1"] },
    ]);
  });

  it("ls names the backends; --json prints the API's list and asks for nothing else", async () => {
    hostnetd.on("GET", "/loadbalancers", { status: 200, body: [web] });
    hostnetd.on("GET", "/endpoints", { status: 200, body: [web1Endpoint] });
    expect((await cli("lb", "ls")).stdout.split("\n")).toStrictEqual([
      "ID             NAME   VIPS            PORTS          BACKENDS   ILB",
      "3f2a9c1e-7b6   web    198.51.100.10   80->8080/tcp   web1       no",
      "",
    ]);
    hostnetd.requests.length = 0;
    expect((await cli("lb", "list", "--json")).stdout).toBe(json([web]));
    expect(hostnetd.requests.map((r) => r.url)).toStrictEqual(["/loadbalancers"]);
  });

  it("inspect prints JSON and escapes the reference; rm deletes and prints the name", async () => {
    hostnetd.on("GET", "/loadbalancers/my%20lb", { status: 200, body: web });
    hostnetd.on("DELETE", "/loadbalancers/web", { status: 204 });
    expect((await cli("lb", "inspect", "my lb")).stdout).toBe(json(web));
    expect(await cli("lb", "rm", "web")).toStrictEqual({ code: 0, stdout: "web\n", stderr: "" });
  });

  it("prints hostnetd's refusal and exits 1", async () => {
    hostnetd.on("POST", "/loadbalancers/web/endpoints", {
      status: 404,
      body: { error: { code: "NotFound", message: 'endpoint "web9" not found' } },
    });
    const result = await cli("lb", "add-backend", "web", "web9");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('endpoint "web9" not found');
  });

  it.each([
    [
      ["lb", "create", "web", "--vip", "198.51.100.10", "--port", "80:8080", "--local-routed-vip"],
      "--local-routed-vip needs --ilb, or no --vip (NodePort): the host reaches other load balancers already",
      "hostnet lb create",
    ],
    [["lb", "create", "web", "--vip", "198.51.100.10"], "give at least one --port", "hostnet lb create"],
    [
      ["lb", "create", "web", "--vip", "198.51.100.10", "--port", "80"],
      '--port "80" is not EXT:INT[/tcp|/udp] with ports from 1 to 65535',
      "hostnet lb create",
    ],
    [["lb", "add-backend", "web"], "missing argument EP", "hostnet lb add-backend"],
    [["lb", "rm", "web", "web1"], 'unexpected argument "web1"', "hostnet lb rm"],
  ])("%j is a usage error: exit 2, one line and a hint, nothing sent", async (argv, message, command) => {
    expect(await cli(...argv)).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `hostnet: ${message}\nRun '${command} --help' for usage.\n`,
    });
    expect(hostnetd.requests).toStrictEqual([]);
  });
});
