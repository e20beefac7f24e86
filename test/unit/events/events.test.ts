import type { FastifyInstance } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../../src/api/http.js";
import type { EventWire } from "../../../src/api/rest/events.js";
import { eventText } from "../../../src/cli/events.js";
import { CLIENT_AGENT } from "../../../src/client/request.js";
import { withCause } from "../../../src/core/cause.js";
import { convergeEvents } from "../../../src/core/record.js";
import { plain } from "../../../src/cli/output.js";
import { parseEventTime } from "../../../src/events/time.js";
import { EVENT_HISTORY } from "../../../src/store/events.js";
import { harness, silent, thrown, type Harness } from "../harness.js";

describe("parseEventTime: RFC 3339 or Unix seconds, as docker events --since", () => {
  it("reads RFC 3339 times with or without fractions, in UTC or with an offset", () => {
    expect(parseEventTime("since", "2026-12-07T23:42:12Z")).toBe(Date.UTC(2026, 11, 7, 23, 42, 12));
    expect(parseEventTime("since", "2026-12-07T23:42:12.250Z")).toBe(Date.UTC(2026, 11, 7, 23, 42, 12, 250));
    expect(parseEventTime("since", "2026-12-08T00:42:12+01:00")).toBe(Date.UTC(2026, 11, 7, 23, 42, 12));
    expect(parseEventTime("since", "2026-12-07 23:42:12z")).toBe(Date.UTC(2026, 11, 7, 23, 42, 12));
  });

  it("reads Unix seconds, whole or with a fraction", () => {
    expect(parseEventTime("until", "0")).toBe(0);
    expect(parseEventTime("until", "1796687000")).toBe(1796687000_000);
    expect(parseEventTime("until", "1796687000.25")).toBe(1796687000_250);
  });

  it.each(["", "yesterday", "2026-12-07", "2026-12-07T23:42:12", "2026-13-07T23:42:12Z", "-5", "1e9", "10m"])(
    "refuses %j naming the field",
    (value) => {
      const err = thrown(() => parseEventTime("since", value));
      expect(err.code).toBe("InvalidArgument");
      expect(err.detail.field).toBe("since");
    },
  );
});

describe("the event history", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.close());

  it(`keeps the last ${EVENT_HISTORY} events, numbered on from the last`, () => {
    for (let i = 0; i < EVENT_HISTORY + 5; i++)
      h.service.events.record({ kind: "network", action: "create", id: `n${i}`, name: `n${i}` });
    const kept = h.store.events.between("1970-01-01T00:00:00.000Z", "9999-01-01T00:00:00.000Z");
    expect(kept).toHaveLength(EVENT_HISTORY);
    expect(kept[0]?.seq).toBe(6);
    expect(kept.at(-1)?.seq).toBe(EVENT_HISTORY + 5);
  });

  it("a restart finds the events recorded before it", async () => {
    await h.service.createNetwork({ name: "n1", type: "NAT", subnets: [] });
    const again = h.restart();
    const kept = again.store.events.between("1970-01-01T00:00:00.000Z", "9999-01-01T00:00:00.000Z");
    expect(kept.map((e) => `${e.kind} ${e.action} ${e.name}`)).toEqual(["network create n1"]);
    again.service.events.record({ kind: "network", action: "delete", id: "x", name: "n1" });
    expect(again.store.events.between("1970", "9999").map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe("GET /events", () => {
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

  const past = (): string => new Date(Date.now() + 1).toISOString();
  const read = async (query: string): Promise<EventWire[]> => {
    const res = await app.inject({ method: "GET", url: `/events?${query}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson");
    return res.body
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as EventWire);
  };

  it("replays what each door did, in order, with its cause and details, and ends at until", async () => {
    const post = (url: string, payload: object, cli = false) =>
      app.inject({ method: "POST", url, payload, headers: cli ? { "user-agent": CLIENT_AGENT } : {} });
    expect((await post("/networks", { Name: "n1", Type: "NAT" })).statusCode).toBe(201);
    expect((await post("/namespaces", { Name: "c1", Path: "/proc/self/ns/net" })).statusCode).toBe(201);
    const created = await post("/endpoints", { Name: "e1", HostComputeNetwork: "n1" }, true);
    expect(created.statusCode, created.body).toBe(201);
    const attached = await post("/endpoints/e1/attach", { HostComputeNamespace: "c1" });
    expect(attached.statusCode, attached.body).toBe(200);
    const acl = {
      RequestType: "Add",
      Policies: [{ Type: "ACL", Settings: { Action: "Block", Direction: "In", Priority: 100 } }],
    };
    expect((await post("/endpoints/e1/policies", acl)).statusCode).toBe(200);
    expect((await app.inject({ method: "DELETE", url: "/endpoints/e1" })).statusCode).toBe(204);
    await withCause("drift", () => h.service.namespaceVanished("c1"));

    const events = await read(`since=0&until=${past()}`);
    expect(events.map((e) => `${e.Kind} ${e.Action} ${e.Name} ${e.Cause}`)).toEqual([
      "network create n1 rest",
      "namespace create c1 rest",
      "endpoint create e1 cli",
      "endpoint attach e1 rest",
      "endpoint update e1 rest",
      "endpoint delete e1 rest",
    ]);
    expect(events.map((e) => e.Seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[2]?.Details).toEqual({ Network: "n1" });
    expect(events[3]?.Details).toEqual({ Network: "n1", Namespace: "c1", InterfaceName: "eth0" });
    expect(events[4]?.Details).toEqual({
      Network: "n1",
      Namespace: "c1",
      InterfaceName: "eth0",
      RequestType: "Add",
      Policies: ["ACL"],
    });
    for (const e of events) expect(e.Time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect((await read(`since=0&until=${past()}&kind=namespace`)).map((e) => e.Name)).toEqual(["c1"]);
    expect((await read(`since=0&until=${past()}&object=e1`)).map((e) => e.Action)).toEqual([
      "create",
      "attach",
      "update",
      "delete",
    ]);
    const first = events[0]?.Time ?? "";
    expect(await read(`since=${first}&until=${first}`)).toHaveLength(
      events.filter((e) => e.Time === first).length,
    );
    expect(await read("since=1&until=2")).toEqual([]);
  }, 30_000);

  it("a network deleted with its endpoints reports each of them, then itself", async () => {
    const net = await h.service.createNetwork({ name: "n1", type: "NAT", subnets: [] });
    await h.service.createEndpoint({ name: "e1", network: "n1", ips: [], portMappings: [], policies: [] });
    await h.service.deleteNetwork(net.id, { force: true });
    const events = await read(`since=0&until=${past()}`);
    expect(events.map((e) => `${e.Kind} ${e.Action} ${e.Name} ${e.Cause}`)).toEqual([
      "network create n1 internal",
      "endpoint create e1 internal",
      "endpoint delete e1 internal",
      "network delete n1 internal",
    ]);
  });

  it("a load balancer's create, backends and delete", async () => {
    const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });
    expect((await post("/networks", { Name: "n1", Type: "NAT" })).statusCode).toBe(201);
    expect((await post("/endpoints", { Name: "b1", HostComputeNetwork: "n1" })).statusCode).toBe(201);
    const lb = {
      Name: "web",
      HostComputeEndpoints: [],
      FrontendVIPs: ["198.51.100.10"],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    };
    expect((await post("/loadbalancers", lb)).statusCode).toBe(201);
    const backend = { RequestType: "Add", HostComputeEndpoints: ["b1"] };
    const added = await post("/loadbalancers/web/endpoints", backend);
    expect(added.statusCode, added.body).toBe(200);
    expect((await app.inject({ method: "DELETE", url: "/loadbalancers/web" })).statusCode).toBe(204);
    const events = await read(`since=0&until=${past()}&kind=loadbalancer`);
    expect(events.map((e) => [e.Action, e.Name, e.Details["Backends"]])).toEqual([
      ["create", "web", []],
      ["update", "web", ["b1"]],
      ["delete", "web", ["b1"]],
    ]);
    expect(events[0]?.Details["FrontendVIPs"]).toEqual(["198.51.100.10"]);
  }, 30_000);

  it.each([
    ["since=last%20week", "since"],
    [`until=${"9".repeat(20)}`, "until"],
    ["since=1796687000&until=1796686999", "until"],
    ["kind=container", "kind"],
  ])("refuses %s with a 400 naming %s", async (query, field) => {
    const res = await app.inject({ method: "GET", url: `/events?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string; field: string } }>().error).toMatchObject({
      code: "InvalidArgument",
      field,
    });
  });
});

describe("converge failures and repairs as events", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.close());

  it("names the owners' objects, says what was repaired and why", async () => {
    const net = await h.service.createNetwork({ name: "n1", type: "NAT", subnets: [] });
    const observe = convergeEvents({ store: h.store, events: h.service.events });
    observe("converge", 0.1, [], true, {
      kind: "converge",
      scope: [`net:${net.id}`, "firewall"],
      error: new Error("nft: No such file"),
    });
    const bridge = { kind: "netns", name: "x", owner: `net:${net.id}` } as const;
    observe("repair", 0.1, [{ action: "create", object: bridge as never }], false, {
      kind: "repair",
      cause: "link hn-1 deleted",
      failures: [],
    });
    const events = h.store.events.between("1970", "9999").slice(1);
    expect(events.map((e) => [e.kind, e.action, e.name, e.cause, e.details])).toEqual([
      ["network", "converge-failed", "n1", "internal", { Error: "nft: No such file" }],
      ["host", "converge-failed", "firewall", "internal", { Error: "nft: No such file" }],
      ["network", "repaired", "n1", "drift", { Reason: "link hn-1 deleted", Repaired: ["create netns x"] }],
    ]);
  });
});

describe("hostnet events: one line per event", () => {
  const e: EventWire = {
    Seq: 7,
    Time: "2026-12-07T23:42:12.123Z",
    Kind: "endpoint",
    Action: "attach",
    ID: "3f2a0000-0000-4000-8000-000000000000",
    Name: "web1",
    Cause: "cni",
    Details: { Network: "n1", Policies: ["ACL", "QOS"] },
  };

  it("says when, what, which and why; wide adds the ID", () => {
    expect(eventText(e, plain)).toBe(
      "2026-12-07T23:42:12.123Z endpoint attach web1 (cause cni, Network=n1, Policies=ACL,QOS)",
    );
    expect(eventText(e, { ...plain, wide: true })).toBe(
      "2026-12-07T23:42:12.123Z endpoint attach web1 (cause cni, ID=3f2a0000-0000-4000-8000-000000000000, Network=n1, Policies=ACL,QOS)",
    );
  });
});

describe("a reader that stops reading", () => {
  it("is disconnected once it is 1 MiB behind, and hostnetd goes on recording", async () => {
    const h = harness();
    const app = await buildApp(h.service, silent);
    const dir = mkdtempSync(join(tmpdir(), "hostnet-events-"));
    const path = join(dir, "hostnet.sock");
    try {
      await app.listen({ path });
      const client = connect(path);
      client.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
      client.pause();
      const connections = (): Promise<number> =>
        new Promise((ok, fail) => {
          app.server.getConnections((err, n) => {
            if (err === null) ok(n);
            else fail(err);
          });
        });
      await vi.waitFor(async () => {
        expect(await connections()).toBe(1);
      });
      await new Promise((r) => setTimeout(r, 100));
      const big = "x".repeat(1000);
      let recorded = 0;
      while ((await connections()) > 0 && recorded < 20_000) {
        for (let i = 0; i < 100; i++, recorded++)
          h.service.events.record({
            kind: "host",
            action: "update",
            id: "all",
            name: "all",
            details: { big },
          });
        await new Promise((r) => setImmediate(r));
      }
      expect(await connections()).toBe(0);
      // 1 MiB in hostnetd (some 900 of these events), what the socket holds besides: no more.
      expect(recorded).toBeGreaterThan(800);
      expect(recorded).toBeLessThan(5_000);
      client.destroy();
    } finally {
      await app.close();
      h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
