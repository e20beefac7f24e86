import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../../../src/api/http.js";
import { errorReply, httpStatus } from "../../../../src/api/rest/errors.js";
import { errorCodes, HostnetError } from "../../../../src/errors.js";
import { harness, silent, uniqueName, type Harness } from "../../harness.js";
import { orphanBridge } from "../../../helpers/plan-ops.js";

let h: Harness;
let app: FastifyInstance;

beforeEach(async () => {
  h = harness();
  app = await buildApp(h.service, silent);
});
afterEach(async () => {
  await app.close();
  h.close();
});

type Json = Record<string, unknown>;
interface ErrorJson {
  error: { code: string; message: string; field?: string };
}

const post = (url: string, payload?: unknown): Promise<LightMyRequestResponse> =>
  payload === undefined
    ? app.inject({ method: "POST", url })
    : app.inject({ method: "POST", url, payload: payload as Json });
const get = (url: string): Promise<LightMyRequestResponse> => app.inject({ method: "GET", url });
const del = (url: string): Promise<LightMyRequestResponse> => app.inject({ method: "DELETE", url });
const json = (res: LightMyRequestResponse): Json => res.json<Json>();

const network = (name: string, prefix?: string, extra: Json = {}): Json => ({
  Name: name,
  ...(prefix === undefined ? {} : { Ipams: [{ Subnets: [{ IpAddressPrefix: prefix }] }] }),
  ...extra,
});

/** Asserts the error answer: status, `{error: {code, message, field}}`. */
function expectError(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  field?: string,
): ErrorJson["error"] {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json<ErrorJson>();
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (field === undefined) expect(body.error.field).toBeUndefined();
  else expect(body.error.field).toBe(field);
  return body.error;
}

describe("networks", () => {
  it("POST creates (201) and answers in HNS shape", async () => {
    const res = await post("/networks", {
      Name: "n1",
      Type: "NAT",
      Ipams: [
        {
          Type: "Static",
          Subnets: [{ IpAddressPrefix: "10.10.0.0/24", Routes: [{ NextHop: "10.10.0.254" }] }],
        },
      ],
      Mtu: 1450,
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = json(res);
    expect(body).toMatchObject({
      Name: "n1",
      Type: "NAT",
      Mtu: 1450,
      Ipams: [
        {
          Type: "Static",
          Subnets: [
            {
              IpAddressPrefix: "10.10.0.0/24",
              Routes: [{ NextHop: "10.10.0.254", DestinationPrefix: "0.0.0.0/0" }],
            },
          ],
        },
      ],
      Policies: [],
      Flags: 0,
      SchemaVersion: { Major: 2, Minor: 16 },
    });
    expect(body["ID"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(body["Bridge"]).toBe(`hnb-${String(body["ID"]).slice(0, 8)}`);
    expect(typeof body["CreatedAt"]).toBe("string");
  });

  it("POST with a dual-stack subnet list gives a default route per family", async () => {
    const res = await post("/networks", {
      Name: "dual",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.20.0.0/24" }, { IpAddressPrefix: "fd20::/64" }] }],
    });
    expect(res.statusCode, res.body).toBe(201);
    const routes = res
      .json<{ Ipams: { Subnets: { Routes: Json[] }[] }[] }>()
      .Ipams[0]?.Subnets.map((s) => s.Routes);
    expect(routes).toEqual([
      [{ NextHop: "10.20.0.1", DestinationPrefix: "0.0.0.0/0" }],
      [{ NextHop: "fd20::1", DestinationPrefix: "::/0" }],
    ]);
  });

  it("POST without Ipams picks a default subnet", async () => {
    const res = await post("/networks", { Name: "auto" });
    expect(res.statusCode, res.body).toBe(201);
    expect(
      res.json<{ Ipams: { Subnets: { IpAddressPrefix: string }[] }[] }>().Ipams[0]?.Subnets[0]
        ?.IpAddressPrefix,
    ).toBe("172.16.0.0/16");
  });

  it("GET lists (200) and gets by name or id; unknown is 404", async () => {
    const created = json(await post("/networks", network("n1", "10.10.0.0/24")));
    const list = await get("/networks");
    expect(list.statusCode).toBe(200);
    expect(list.json<Json[]>().map((n) => n["Name"])).toEqual(["n1"]);
    expect(json(await get("/networks/n1"))["ID"]).toBe(created["ID"]);
    expect(json(await get(`/networks/${String(created["ID"])}`))["Name"]).toBe("n1");
    expectError(await get("/networks/nope"), 404, "NotFound");
  });

  it("filters the list HNS-style with ?filter=", async () => {
    await post("/networks", network("nat", "10.10.0.0/24"));
    await post("/networks", network("other", "10.11.0.0/24"));
    const q = encodeURIComponent(JSON.stringify({ Name: "nat" }));
    const res = await get(`/networks?filter=${q}`);
    expect(res.statusCode).toBe(200);
    expect(res.json<Json[]>().map((n) => n["Name"])).toEqual(["nat"]);
    const both = await get(
      `/networks?filter=${encodeURIComponent(JSON.stringify({ Type: "NAT", Mtu: 1500 }))}`,
    );
    expect(both.json<Json[]>()).toHaveLength(2);
    const none = await get(`/networks?filter=${encodeURIComponent(JSON.stringify({ Name: "x" }))}`);
    expect(none.json<Json[]>()).toEqual([]);
    expect((await get("/networks?filter=")).json<Json[]>()).toHaveLength(2);
  });

  it.each([
    ["not JSON", "{Name"],
    ["an array", "[1]"],
    ["a string", '"nat"'],
    ["null", "null"],
  ])("refuses a filter that is %s (400, field filter)", async (_what, filter) => {
    expectError(
      await get(`/networks?filter=${encodeURIComponent(filter)}`),
      400,
      "InvalidArgument",
      "filter",
    );
  });

  it("DELETE answers 204 with no body; 404 when unknown", async () => {
    await post("/networks", network("n1", "10.10.0.0/24"));
    const res = await del("/networks/n1");
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expectError(await del("/networks/n1"), 404, "NotFound");
  });

  it("DELETE of a network with endpoints is 409 unless ?force=true", async () => {
    await post("/networks", network("n1", "10.10.0.0/24"));
    expect((await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1" })).statusCode).toBe(201);
    expectError(await del("/networks/n1"), 409, "Conflict");
    expectError(await del("/networks/n1?force=yes"), 400, "InvalidArgument", "force");
    expectError(await del("/networks/n1?force=false"), 409, "Conflict");
    expect((await del("/networks/n1?force=true")).statusCode).toBe(204);
    expect((await get("/endpoints")).json<Json[]>()).toEqual([]);
  });
});

describe("request errors", () => {
  it("a missing required field is 400 naming it", async () => {
    const err = expectError(await post("/networks", { Type: "NAT" }), 400, "InvalidArgument", "Name");
    expect(err.message).toBe("Name: is required");
  });

  it("a nested missing field is named by its path", async () => {
    expectError(
      await post("/networks", {
        Name: "n1",
        Ipams: [{ Subnets: [{ IpAddressPrefix: "10.0.0.0/24" }, { Routes: [] }] }],
      }),
      400,
      "InvalidArgument",
      "Ipams[0].Subnets[1].IpAddressPrefix",
    );
  });

  it("a wrong type is 400 naming the field (no coercion of strings)", async () => {
    expectError(await post("/networks", { Name: "n1", Mtu: "1500" }), 400, "InvalidArgument", "Mtu");
    expectError(await post("/networks", { Name: 7 }), 400, "InvalidArgument", "Name");
    expectError(
      await post("/networks", { Name: "n1", Ipams: [{ Subnets: [{ IpAddressPrefix: 10 }] }] }),
      400,
      "InvalidArgument",
      "Ipams[0].Subnets[0].IpAddressPrefix",
    );
  });

  it("more than one Ipam is 400 on Ipams", async () => {
    expectError(
      await post("/networks", { Name: "n1", Ipams: [{ Subnets: [] }, { Subnets: [] }] }),
      400,
      "InvalidArgument",
      "Ipams",
    );
  });

  it("malformed JSON is 400 on body", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/networks",
      headers: { "content-type": "application/json" },
      payload: '{"Name": "n1",',
    });
    expectError(res, 400, "InvalidArgument", "body");
  });

  it("an empty JSON body is 400", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/networks",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expectError(res, 400, "InvalidArgument", "body");
  });

  it("a body that is not an object is 400", async () => {
    expect((await post("/networks", [1, 2])).statusCode).toBe(400);
    expect((await post("/networks")).statusCode).toBe(400);
  });

  it("service validation errors keep their field", async () => {
    expectError(
      await post("/networks", network("n1", "10.0.0.0/33")),
      400,
      "InvalidArgument",
      "Ipams[0].Subnets[0].IpAddressPrefix",
    );
    expectError(
      await post("/networks", {
        Name: "n1",
        Ipams: [{ Subnets: [{ IpAddressPrefix: "10.0.0.0/24", Routes: [{ NextHop: "10.9.9.9" }] }] }],
      }),
      400,
      "InvalidArgument",
      "Ipams[0].Subnets[0].Routes[0].NextHop",
    );
    expectError(
      await post("/networks", network("n1", "10.0.0.0/24", { Type: "Overlay" })),
      400,
      "InvalidArgument",
      "Type",
    );
  });

  it("a conflict is 409 with the field at fault", async () => {
    await post("/networks", network("n1", "10.10.0.0/24"));
    expectError(await post("/networks", network("n1", "10.11.0.0/24")), 409, "Conflict", "Name");
    expectError(
      await post("/networks", network("n2", "10.10.0.0/16")),
      409,
      "Conflict",
      "Ipams[0].Subnets[0].IpAddressPrefix",
    );
  });

  it("a kernel refusal is 500 Internal, and the network is not kept", async () => {
    h.kernel.failNext(2);
    expectError(await post("/networks", network("n1", "10.10.0.0/24")), 500, "Internal");
    expect((await get("/networks")).json<Json[]>()).toEqual([]);
  });

  it("an unknown route is 404 in the error shape", async () => {
    const err = expectError(await get("/nope"), 404, "NotFound");
    expect(err.message).toContain("/nope");
  });
});

describe("endpoints", () => {
  let nsName: string;
  beforeEach(async () => {
    expect(
      (await post("/networks", { Name: "n1", Ipams: [{ Subnets: [{ IpAddressPrefix: "10.30.0.0/24" }] }] }))
        .statusCode,
    ).toBe(201);
    nsName = uniqueName("c");
    expect((await post("/namespaces", { Name: nsName })).statusCode).toBe(201);
  });

  it("refuses remote endpoints' Flags and ProviderAddress where they do not belong, naming the field", async () => {
    const provider = [{ Type: "ProviderAddress", Settings: { ProviderAddress: "192.168.77.2" } }];
    const remote = { HostComputeNetwork: "n1", IpConfigurations: [{ IpAddress: "10.31.0.5" }] };
    expectError(await post("/endpoints", { ...remote, Flags: 1 }), 400, "InvalidArgument", "Flags");
    expectError(await post("/endpoints", { ...remote, Flags: 2 }), 400, "InvalidArgument", "Flags");
    const local = await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1", Policies: provider });
    expectError(local, 400, "InvalidArgument", "Policies[0].Settings.ProviderAddress");
    const unnamed = expectError(
      await post("/endpoints", { HostComputeNetwork: "n1" }),
      400,
      "InvalidArgument",
      "Name",
    );
    expect(unnamed.message).toBe("Name: is required");
    expect((json(await get("/endpoints")) as unknown as unknown[]).length).toBe(0);
  });

  it("an endpoint hostnet detached because its namespace vanished says so until it is attached again", async () => {
    const created = json(
      await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1", HostComputeNamespace: nsName }),
    );
    expect(created["DetachedReason"]).toBeUndefined();
    h.kernel.namespaceDeleted(h.service.namespace(nsName).path);
    await h.service.namespaceVanished(nsName);
    expect(json(await get("/endpoints/e1"))).toMatchObject({
      HostComputeNamespace: null,
      DetachedReason: "NamespaceVanished",
    });
    expect((await post("/namespaces", { Name: nsName })).statusCode).toBe(201);
    const attached = await post("/endpoints/e1/attach", { HostComputeNamespace: nsName });
    expect(attached.statusCode, attached.body).toBe(200);
    expect(json(attached)["DetachedReason"]).toBeUndefined();
  });

  it("POST creates (201) with addresses, routes, the host veth and port mappings", async () => {
    const res = await post("/endpoints", {
      Name: "e1",
      HostComputeNetwork: "n1",
      HostComputeNamespace: nsName,
      IpConfigurations: [{ IpAddress: "10.30.0.9" }],
      MacAddress: "02:00:00:00:00:09",
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } },
        {
          Type: "PortMapping",
          Settings: { Protocol: "UDP", InternalPort: 53, ExternalPort: 5353, VIP: "127.0.0.1" },
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    const body = json(res);
    const net = json(await get("/networks/n1"));
    const ns = json(await get(`/namespaces/${nsName}`));
    expect(body).toMatchObject({
      Name: "e1",
      HostComputeNetwork: net["ID"],
      HostComputeNamespace: ns["ID"],
      InterfaceName: "eth0",
      IpConfigurations: [{ IpAddress: "10.30.0.9", PrefixLength: 24 }],
      MacAddress: "02:00:00:00:00:09",
      Routes: [{ NextHop: "10.30.0.1", DestinationPrefix: "0.0.0.0/0" }],
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } },
        {
          Type: "PortMapping",
          Settings: { Protocol: 17, InternalPort: 53, ExternalPort: 5353, VIP: "127.0.0.1" },
        },
      ],
      Flags: 0,
    });
    expect(body["HostInterfaceName"]).toBe(`hnv-${String(body["ID"]).slice(0, 8)}`);
    expect(json(await get(`/namespaces/${nsName}`))["Resources"]).toEqual([
      { Type: "Endpoint", Id: body["ID"] },
    ]);
  });

  it("lists by network, gets, and deletes (204) an endpoint", async () => {
    const created = json(await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1" }));
    expect((await get("/endpoints?network=n1")).json<Json[]>().map((e) => e["ID"])).toEqual([created["ID"]]);
    expect((await get(`/endpoints?filter=${encodeURIComponent('{"Name":"e2"}')}`)).json<Json[]>()).toEqual(
      [],
    );
    expectError(await get("/endpoints?network=nope"), 404, "NotFound");
    expect(json(await get("/endpoints/e1"))["ID"]).toBe(created["ID"]);
    expect((await del("/endpoints/e1")).statusCode).toBe(204);
    expectError(await get("/endpoints/e1"), 404, "NotFound");
  });

  it("attaches and detaches (200)", async () => {
    await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1" });
    const attached = await post("/endpoints/e1/attach", {
      HostComputeNamespace: nsName,
      InterfaceName: "net0",
    });
    expect(attached.statusCode, attached.body).toBe(200);
    expect(json(attached)["InterfaceName"]).toBe("net0");
    expect(h.kernel.ofKind("veth")).toHaveLength(1);
    const detached = await post("/endpoints/e1/detach");
    expect(detached.statusCode, detached.body).toBe(200);
    expect(json(detached)).toMatchObject({ HostComputeNamespace: null, InterfaceName: null });
    expect(h.kernel.ofKind("veth")).toEqual([]);
    expectError(await post("/endpoints/e1/attach", {}), 400, "InvalidArgument", "HostComputeNamespace");
    expectError(await post("/endpoints/nope/detach"), 404, "NotFound");
  });

  it.each([
    ["no Name", { HostComputeNetwork: "n1" }, 400, "InvalidArgument", "Name"],
    ["no network", { Name: "e1" }, 400, "InvalidArgument", "HostComputeNetwork"],
    ["an unknown network", { Name: "e1", HostComputeNetwork: "nope" }, 404, "NotFound", "HostComputeNetwork"],
    [
      "an unknown namespace",
      { Name: "e1", HostComputeNetwork: "n1", HostComputeNamespace: "nope" },
      404,
      "NotFound",
      "HostComputeNamespace",
    ],
    [
      "a bad MAC",
      { Name: "e1", HostComputeNetwork: "n1", MacAddress: "nope" },
      400,
      "InvalidArgument",
      "MacAddress",
    ],
    [
      "three IP configurations",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        IpConfigurations: [
          { IpAddress: "10.30.0.2" },
          { IpAddress: "10.30.0.3" },
          { IpAddress: "10.30.0.4" },
        ],
      },
      400,
      "InvalidArgument",
      "IpConfigurations",
    ],
    [
      "an IP outside the network",
      { Name: "e1", HostComputeNetwork: "n1", IpConfigurations: [{ IpAddress: "10.31.0.2" }] },
      400,
      "InvalidArgument",
      "IpConfigurations[0].IpAddress",
    ],
    [
      "the gateway as IP",
      { Name: "e1", HostComputeNetwork: "n1", IpConfigurations: [{ IpAddress: "10.30.0.1" }] },
      409,
      "Conflict",
      "IpConfigurations[0].IpAddress",
    ],
    [
      "a policy of an unknown type",
      { Name: "e1", HostComputeNetwork: "n1", Policies: [{ Type: "Frobnicate", Settings: {} }] },
      400,
      "InvalidArgument",
      "Policies[0].Type",
    ],
    [
      "an ACL without an action",
      { Name: "e1", HostComputeNetwork: "n1", Policies: [{ Type: "ACL", Settings: { Direction: "In" } }] },
      400,
      "InvalidArgument",
      "Policies[0].Settings.Action",
    ],
    [
      "settings that are not an object",
      { Name: "e1", HostComputeNetwork: "n1", Policies: [{ Type: "PortMapping", Settings: 5 }] },
      400,
      "InvalidArgument",
      "Policies[0].Settings",
    ],
    [
      "an unknown protocol",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [
          { Type: "PortMapping", Settings: { Protocol: "SCTP", InternalPort: 80, ExternalPort: 80 } },
        ],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.Protocol",
    ],
    [
      "no protocol",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [{ Type: "PortMapping", Settings: { InternalPort: 80, ExternalPort: 80 } }],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.Protocol",
    ],
    [
      "a port given as a string",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: "80" } }],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.ExternalPort",
    ],
    [
      "port 0",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 0 } }],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.ExternalPort",
    ],
    [
      "port 70000",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 70000, ExternalPort: 80 } }],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.InternalPort",
    ],
    [
      "a VIP that is not a string",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [
          { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 80, VIP: 1 } },
        ],
      },
      400,
      "InvalidArgument",
      "Policies[0].Settings.VIP",
    ],
    [
      "one host port twice",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        Policies: [
          { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 80 } },
          { Type: "PortMapping", Settings: { Protocol: "tcp", InternalPort: 81, ExternalPort: 80 } },
        ],
      },
      409,
      "Conflict",
      "Policies[1].Settings",
    ],
    [
      "an interface name too long",
      {
        Name: "e1",
        HostComputeNetwork: "n1",
        HostComputeNamespace: "NS",
        InterfaceName: "averylonginterface",
      },
      400,
      "InvalidArgument",
      "InterfaceName",
    ],
  ])("refuses %s (%d %s on %s), creating nothing", async (_what, body, status, code, field) => {
    const payload = JSON.parse(JSON.stringify(body).replace('"NS"', JSON.stringify(nsName))) as Json;
    expectError(await post("/endpoints", payload), status, code, field);
    expect((await get("/endpoints")).json<Json[]>()).toEqual([]);
  });
});

describe("namespaces", () => {
  it("creates (201), lists, gets and deletes (204)", async () => {
    const name = uniqueName("c");
    const res = await post("/namespaces", { Name: name });
    expect(res.statusCode, res.body).toBe(201);
    expect(json(res)).toMatchObject({
      Name: name,
      Path: `/run/netns/${name}`,
      Type: "Guest",
      Owned: true,
      Resources: [],
    });
    expect((await get("/namespaces")).json<Json[]>().map((n) => n["Name"])).toEqual([name]);
    expect(
      (await get(`/namespaces?filter=${encodeURIComponent(JSON.stringify({ Owned: true }))}`)).json<Json[]>(),
    ).toHaveLength(1);
    expect((await del(`/namespaces/${name}`)).statusCode).toBe(204);
    expectError(await get(`/namespaces/${name}`), 404, "NotFound");
  });

  it("refuses a duplicate (409) and a missing adopted path (400)", async () => {
    const name = uniqueName("c");
    await post("/namespaces", { Name: name });
    expectError(await post("/namespaces", { Name: name }), 409, "Conflict", "Name");
    expectError(
      await post("/namespaces", { Name: "x", Path: "/nonexistent/ns" }),
      400,
      "InvalidArgument",
      "Path",
    );
    expectError(await post("/namespaces", {}), 400, "InvalidArgument", "Name");
  });
});

describe("plan, version and OpenAPI", () => {
  it("/plan answers { Operations: [] } when converged, and lists drift", async () => {
    const created = json(await post("/networks", network("n1", "10.10.0.0/24")));
    const res = await get("/plan");
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ Operations: [] });
    const bridge = `hnb-${String(created["ID"]).slice(0, 8)}`;
    h.kernel.objects.delete(`addr::${bridge}:10.10.0.1/24`);
    h.kernel.objects.set("link:hnb-deadbeef", orphanBridge);
    expect(json(await get("/plan"))).toEqual({
      Operations: [
        { Action: "delete", Kind: "bridge", Object: "bridge hnb-deadbeef mtu 1500" },
        { Action: "create", Kind: "address", Object: `address 10.10.0.1/24 on ${bridge}` },
      ],
    });
  });

  it("/plan says why a repair holds an operation back", async () => {
    const created = json(await post("/networks", network("n1", "10.10.0.0/24")));
    const gateway = `addr::hnb-${String(created["ID"]).slice(0, 8)}:10.10.0.1/24`;
    for (let i = 0; i < 6; i++) {
      h.kernel.objects.delete(gateway);
      await h.reconciler.repair("test", "all");
    }
    expect(json(await get("/plan"))).toEqual({
      Operations: [
        {
          Action: "create",
          Kind: "address",
          Object: expect.stringMatching(/^address 10\.10\.0\.1\/24 on hnb-/) as unknown,
          HeldBack: expect.stringMatching(/^repaired 5 times within 60 s; held back until /) as unknown,
        },
      ],
    });
  });

  it("/globals/version is the HNS release of hostnet's features, /globals/features hcsshim's SupportedFeatures", async () => {
    expect(json(await get("/globals/version"))).toEqual({ Major: 10, Minor: 3 });
    expect(json(await get("/globals/features"))).toMatchObject({
      ACL: { AclAddressLists: true, AclHostRulePriority: false, AclPortRanges: true, AclRuleId: false },
      API: { V1: false, V2: true },
      DSR: true,
      SessionAffinity: true,
      IPv6DualStack: true,
      ModifyLoadbalancer: true,
      Slash32EndpointPrefixes: false,
    });
  });

  it("/openapi.json lists every path, not itself", async () => {
    const res = await get("/openapi.json");
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/cni",
        "/endpoints",
        "/endpoints/{ref}",
        "/endpoints/{ref}/attach",
        "/endpoints/{ref}/detach",
        "/endpoints/{ref}/policies",
        "/endpoints/{ref}/stats",
        "/endpoints/{ref}/trace",
        "/endpointstats/{ref}",
        "/events",
        "/globals/features",
        "/globals/version",
        "/loadbalancers",
        "/loadbalancers/{ref}",
        "/loadbalancers/{ref}/endpoints",
        "/namespaces",
        "/namespaces/{ref}",
        "/networks",
        "/networks/{ref}",
        "/networks/{ref}/policies",
        "/plan",
      ].sort(),
    );
    expect(Object.keys(doc.paths["/networks"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/networks/{ref}"] ?? {}).sort()).toEqual(["delete", "get"]);
  });

  it("/openapi.json describes every policy type's Settings", async () => {
    const doc = (await get("/openapi.json")).json<{
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>();
    expect(Object.keys(doc.components.schemas).sort()).toEqual(
      [
        "ACL",
        "QOS",
        "OutBoundNAT",
        "SDNRoute",
        "RemoteSubnetRoute",
        "VLAN",
        "NetAdapterName",
        "VSID",
        "VxlanPort",
        "EncapOverhead",
        "PortMapping",
        "ProviderAddress",
      ]
        .map((type) => `${type}Settings`)
        .sort(),
    );
    expect(Object.keys(doc.components.schemas["ACLSettings"]?.properties ?? {})).toContain("Priority");
  });
});

describe("errorReply", () => {
  it.each(errorCodes.map((c) => [c, httpStatus[c]] as const))("maps %s to HTTP %d", (code, status) => {
    const reply = errorReply(new HostnetError(code, "boom", { field: "F" }));
    expect(reply).toEqual({ status, body: { error: { code, message: "boom", field: "F" } } });
  });

  it("maps the error codes to 400, 404, 409, 503 and 500", () => {
    expect(httpStatus).toEqual({
      InvalidArgument: 400,
      NotFound: 404,
      Conflict: 409,
      Unavailable: 503,
      Internal: 500,
    });
  });

  it("turns anything else into Internal without a field", () => {
    expect(errorReply(new Error("x"))).toEqual({
      status: 500,
      body: { error: { code: "Internal", message: "x" } },
    });
    expect(errorReply("text")).toEqual({
      status: 500,
      body: { error: { code: "Internal", message: "text" } },
    });
  });
});

describe("network policies", () => {
  const acl = {
    Type: "ACL",
    Settings: { Action: "Block", Direction: "In", LocalPorts: "22", Priority: 200 },
  };

  it("are set in the create document, shown by GET and changed by POST /networks/{ref}/policies", async () => {
    expect((await post("/networks", network("n1", "10.10.0.0/24", { Policies: [acl] }))).statusCode).toBe(
      201,
    );
    expect(json(await get("/networks/n1"))["Policies"]).toEqual([
      {
        Type: "ACL",
        Settings: {
          Action: "Block",
          Direction: "In",
          Protocols: "",
          LocalAddresses: "",
          RemoteAddresses: "",
          LocalPorts: "22",
          RemotePorts: "",
          Priority: 200,
        },
      },
    ]);
    const qos = { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 5000 } };
    const res = await post("/networks/n1/policies", { RequestType: "Update", Policies: [qos] });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)["Policies"]).toEqual([qos]);
  });

  it("refuse what a network cannot have, naming the field", async () => {
    expectError(
      await post(
        "/networks",
        network("n1", "10.10.0.0/24", { Policies: [{ Type: "PortMapping", Settings: {} }] }),
      ),
      400,
      "InvalidArgument",
      "Policies[0].Type",
    );
    await post("/networks", network("n1", "10.10.0.0/24"));
    const reversed = { Type: "ACL", Settings: { Action: "Block", Direction: "In", LocalPorts: "90-80" } };
    expectError(
      await post("/networks/n1/policies", { RequestType: "Add", Policies: [reversed] }),
      400,
      "InvalidArgument",
      "Policies[0].Settings.LocalPorts",
    );
    expectError(
      await post("/networks/nope/policies", { RequestType: "Add", Policies: [acl] }),
      404,
      "NotFound",
    );
    expect(json(await get("/networks/n1"))["Policies"]).toEqual([]);
  });
});

describe("load balancers", () => {
  const lb = (extra: Json): Json => ({
    HostComputeEndpoints: [],
    FrontendVIPs: ["198.51.100.10"],
    PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    ...extra,
  });

  it("name what the request lacks as a whole as HNS does", async () => {
    const ilbWithoutVip = await post(
      "/loadbalancers",
      lb({
        FrontendVIPs: [],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 1 }],
      }),
    );
    expect(expectError(ilbWithoutVip, 400, "InvalidArgument", "FrontendVIPs").message).toMatch(
      /^FrontendVIPs: an ILB is reached at its VIP: give one/,
    );
    const noPort = await post("/loadbalancers", lb({ PortMappings: [] }));
    expect(expectError(noPort, 400, "InvalidArgument", "PortMappings").message).toBe(
      "PortMappings: give at least one port mapping",
    );
  });

  it("takes HNS's flag numbers and shows them as given: IPv6 is the load balancer's, UseMux and VipExternalIP are kept", async () => {
    const v6 = await post(
      "/loadbalancers",
      lb({
        Name: "v6",
        FrontendVIPs: ["2001:db8:100::10"],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 4 | 16 }],
        Flags: 2,
      }),
    );
    expect(v6.statusCode, v6.body).toBe(201);
    expect(json(v6)).toMatchObject({ Flags: 2, PortMappings: [{ Flags: 4 | 16 }] });
    const dsr = await post(
      "/loadbalancers",
      lb({
        Name: "dsr",
        PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, Flags: 4 | 8 }],
        Flags: 1,
      }),
    );
    expect(dsr.statusCode, dsr.body).toBe(201);
    expect(json(await get("/loadbalancers/dsr"))).toMatchObject({ Flags: 1, PortMappings: [{ Flags: 12 }] });
  });

  it("keeps affinity on IPv6 VIPs too, for AffinityTimeoutSeconds or hostnetd's default, shown while affine", async () => {
    const affine = [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }];
    const given = await post(
      "/loadbalancers",
      lb({ Name: "v6", FrontendVIPs: ["2001:db8:100::10"], PortMappings: affine, AffinityTimeoutSeconds: 2 }),
    );
    expect(given.statusCode, given.body).toBe(201);
    expect(json(given)).toMatchObject({ AffinityTimeoutSeconds: 2, PortMappings: [{ DistributionType: 2 }] });
    const defaulted = await post("/loadbalancers", lb({ Name: "v4", PortMappings: affine }));
    expect(json(defaulted)["AffinityTimeoutSeconds"]).toBe(10800);
    const none = await post("/loadbalancers", lb({ Name: "none", FrontendVIPs: ["198.51.100.11"] }));
    expect(json(none)).not.toHaveProperty("AffinityTimeoutSeconds");
  });

  it.each([
    ["an IPv4 VIP with the IPv6 flag", { Flags: 2 }, "Flags"] as [string, Json, string],
    ["an affinity timeout without affinity", { AffinityTimeoutSeconds: 60 }, "AffinityTimeoutSeconds"],
    ...[0, 86401].map((seconds): [string, Json, string] => [
      `an affinity timeout of ${seconds} s`,
      {
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 1 }],
        AffinityTimeoutSeconds: seconds,
      },
      "AffinityTimeoutSeconds",
    ]),
    ["an unknown load balancer flag", { Flags: 4 }, "Flags"],
    [
      "PreserveDIP without DSR",
      { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 8 }] },
      "PortMappings[0].Flags",
    ],
    [
      "an unknown port-mapping flag",
      { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 32 }] },
      "PortMappings[0].Flags",
    ],
  ])("refuses %s naming the field", async (_, extra, field) => {
    const kernel = [...h.kernel.objects.keys()].sort();
    expectError(await post("/loadbalancers", lb(extra)), 400, "InvalidArgument", field);
    expect([...h.kernel.objects.keys()].sort()).toEqual(kernel);
    expect((await get("/loadbalancers")).json<Json[]>()).toEqual([]);
  });

  it("takes a SourceVIP on a NodePort load balancer, of its family, keyed by protocol and port", async () => {
    await post("/networks", network("n1", "10.30.0.0/24"));
    await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1" });
    const nodePort = (extra: Json): Json =>
      lb({ FrontendVIPs: [], HostComputeEndpoints: ["e1"], SourceVIP: "203.0.113.5", ...extra });
    const kernel = [...h.kernel.objects.keys()].sort();
    for (const [extra, field] of [
      [{ SourceVIP: "2001:db8::5" }, "SourceVIP"],
      [{ SourceVIP: "10.30.0.9" }, "SourceVIP"],
      [{ SourceVIP: "224.0.0.5" }, "SourceVIP"],
      [{ Flags: 2, HostComputeEndpoints: [] }, "SourceVIP"],
      [
        { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }] },
        "PortMappings[0].DistributionType",
      ],
    ] as const) {
      const refused = expectError(
        await post("/loadbalancers", nodePort(extra)),
        400,
        "InvalidArgument",
        field,
      );
      if (field === "SourceVIP" && extra.SourceVIP !== "10.30.0.9" && extra.SourceVIP !== "224.0.0.5")
        expect(refused.message).toMatch(/frontends are IPv[46]: it would translate none/);
    }
    expect([...h.kernel.objects.keys()].sort()).toEqual(kernel);
    const created = await post("/loadbalancers", nodePort({ Name: "np" }));
    expect(created.statusCode, created.body).toBe(201);
    expect(json(created)).toMatchObject({ FrontendVIPs: [], SourceVIP: "203.0.113.5" });
    expect(h.kernel.objects.get("nft:lbNodeSource4:tcp . 80")).toMatchObject({
      value: [{ t: "addr", v: "203.0.113.5" }],
    });
    expect(h.kernel.objects.get("nft:lbSource4:203.0.113.5")).toBeUndefined();
    await app.inject({ method: "DELETE", url: "/loadbalancers/np" });
    expect([...h.kernel.objects.keys()].sort()).toEqual(kernel);
  });

  describe("PUT (HNS ModifyLoadbalancer)", () => {
    const put = (url: string, payload: Json): Promise<LightMyRequestResponse> =>
      app.inject({ method: "PUT", url, payload });

    beforeEach(async () => {
      await post("/networks", network("n1", "10.30.0.0/24"));
      for (const name of ["e1", "e2", "e3"])
        await post("/endpoints", { Name: name, HostComputeNetwork: "n1" });
      await post("/loadbalancers", lb({ Name: "web", HostComputeEndpoints: ["e1", "e2"] }));
    });

    it("changes VIPs, ports, flags and backends in one call; the ID stays", async () => {
      const before = json(await get("/loadbalancers/web"));
      const res = await put(
        "/loadbalancers/web",
        lb({
          HostComputeEndpoints: ["e2", "e3"],
          FrontendVIPs: ["198.51.100.11"],
          PortMappings: [{ Protocol: 17, InternalPort: 5353, ExternalPort: 53, Flags: 1 | 2 | 4 }],
        }),
      );
      expect(res.statusCode, res.body).toBe(200);
      const ids = await Promise.all(["e2", "e3"].map(async (e) => json(await get(`/endpoints/${e}`))["ID"]));
      expect(json(res)).toMatchObject({
        ID: before["ID"],
        Name: "web",
        HostComputeEndpoints: ids,
        FrontendVIPs: ["198.51.100.11"],
        PortMappings: [{ Protocol: 17, InternalPort: 5353, ExternalPort: 53, Flags: 7 }],
        Flags: 0,
        CreatedAt: before["CreatedAt"],
      });
      expect(json(await get("/plan"))).toEqual({ Operations: [] });
    });

    it.each([
      ["an unknown backend", { HostComputeEndpoints: ["e1", "nobody"] }, 404, "HostComputeEndpoints[1]"],
      ["a VIP in a subnet", { FrontendVIPs: ["10.30.0.50"] }, 400, "FrontendVIPs[0]"],
      ["no port mapping", { PortMappings: [] }, 400, "PortMappings"],
      ["a bad flag", { Flags: 8 }, 400, "Flags"],
      ["another's frontend", { FrontendVIPs: ["198.51.100.20"] }, 409, "FrontendVIPs[0]"],
      ["another's name", { Name: "other" }, 409, "Name"],
    ])("refuses %s naming the field, and changes nothing", async (_, extra, status, field) => {
      await post("/loadbalancers", lb({ Name: "other", FrontendVIPs: ["198.51.100.20"] }));
      const before = json(await get("/loadbalancers/web"));
      const kernel = [...h.kernel.objects.keys()].sort();
      const res = await put("/loadbalancers/web", lb({ HostComputeEndpoints: ["e1", "e3"], ...extra }));
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json<ErrorJson>().error.field).toBe(field);
      expect(json(await get("/loadbalancers/web"))).toEqual(before);
      expect([...h.kernel.objects.keys()].sort()).toEqual(kernel);
    });

    it("is 404 for an unknown load balancer", async () => {
      expectError(await put("/loadbalancers/nope", lb({})), 404, "NotFound");
    });
  });
});
