/** The typed client: URLs, bodies and how every kind of failure becomes a HostnetError. */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createClient } from "../../../src/client/client.js";
import { HostnetError } from "../../../src/errors.js";
import { startFakeHostnetd, type FakeHostnetd } from "./fake-hostnetd.js";
import { natNetwork, web1Endpoint } from "./samples.js";

let hostnetd: FakeHostnetd;
beforeEach(async () => {
  hostnetd = await startFakeHostnetd();
});
afterEach(async () => {
  await hostnetd.close();
});

async function failure(promise: Promise<unknown>): Promise<HostnetError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof HostnetError)) throw new Error(`expected a HostnetError, got ${String(err)}`);
  return err;
}

describe("createClient", () => {
  it("sends JSON and parses the answer", async () => {
    hostnetd.on("POST", "/networks", { status: 201, body: natNetwork });
    const client = createClient({ socket: hostnetd.socket });
    expect(await client.createNetwork({ Name: "nat" })).toStrictEqual(natNetwork);
    expect(hostnetd.requests).toStrictEqual([
      { method: "POST", url: "/networks", contentType: "application/json", body: { Name: "nat" } },
    ]);
  });

  it("escapes references and filters in the URL, and resolves a 204 with nothing", async () => {
    hostnetd.on("GET", "/endpoints?network=a%26b%3Dc", { status: 200, body: [] });
    hostnetd.on("DELETE", "/namespaces/x%2F..%2Fy", { status: 204 });
    const client = createClient({ socket: hostnetd.socket });
    expect(await client.endpoints({ network: "a&b=c" })).toStrictEqual([]);
    await expect(client.deleteNamespace("x/../y")).resolves.toBeUndefined();
  });

  it("posts policy changes to the endpoint's policies and answers the endpoint", async () => {
    hostnetd.on("POST", "/endpoints/web%2F1/policies", { status: 200, body: web1Endpoint });
    const body = { RequestType: "Update" as const, Policies: [] };
    expect(await createClient({ socket: hostnetd.socket }).modifyPolicies("web/1", body)).toStrictEqual(
      web1Endpoint,
    );
    expect(hostnetd.requests).toStrictEqual([
      { method: "POST", url: "/endpoints/web%2F1/policies", contentType: "application/json", body },
    ]);
  });

  it("turns the API's error body into a HostnetError with its code, message and field", async () => {
    hostnetd.on("POST", "/endpoints", {
      status: 400,
      body: { error: { code: "InvalidArgument", message: "MacAddress: is invalid", field: "MacAddress" } },
    });
    const err = await failure(
      createClient({ socket: hostnetd.socket }).createEndpoint({ Name: "e", HostComputeNetwork: "nat" }),
    );
    expect([err.code, err.message, err.detail.field]).toStrictEqual([
      "InvalidArgument",
      "MacAddress: is invalid",
      "MacAddress",
    ]);
  });

  it.each([
    [503, "", "Unavailable", "hostnetd answered 503: "],
    [404, "not here", "NotFound", "hostnetd answered 404: not here"],
    [502, '{"error":{"code":"Teapot","message":"short and stout"}}', "Internal", "hostnetd answered 502: {"],
    [500, "x".repeat(300), "Internal", `hostnetd answered 500: ${"x".repeat(200)}…`],
  ])(
    "falls back on the status for an answer %i without the API's error body",
    async (status, raw, code, message) => {
      hostnetd.on("GET", "/plan", { status, raw });
      const err = await failure(createClient({ socket: hostnetd.socket }).plan());
      expect(err.code).toBe(code);
      expect(err.message.startsWith(message)).toBe(true);
    },
  );

  it("reports a 2xx answer that is not JSON as Internal", async () => {
    hostnetd.on("GET", "/networks", { status: 200, raw: "<html>" });
    const err = await failure(createClient({ socket: hostnetd.socket }).networks());
    expect([err.code, err.message]).toStrictEqual([
      "Internal",
      "hostnetd answered GET /networks with invalid JSON",
    ]);
  });

  it("reports a missing socket as Unavailable, keeping the cause", async () => {
    const socket = join(hostnetd.dir, "missing.sock");
    const err = await failure(createClient({ socket }).networks());
    expect(err.code).toBe("Unavailable");
    expect(err.message).toBe(`hostnetd is not running at ${socket}: connect ENOENT ${socket}`);
    expect(err.detail.hint).toContain("--socket");
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("reports a socket nobody listens on as Unavailable", async () => {
    const socket = join(hostnetd.dir, "stale.sock");
    writeFileSync(socket, "");
    const err = await failure(createClient({ socket }).networks());
    expect([err.code, (err.cause as NodeJS.ErrnoException).code]).toStrictEqual([
      "Unavailable",
      "ECONNREFUSED",
    ]);
  });

  it("gives up on a hostnetd that does not answer", async () => {
    const socket = join(hostnetd.dir, "silent.sock");
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(socket, resolve));
    try {
      const err = await failure(createClient({ socket, timeoutMs: 50 }).plan());
      expect([err.code, err.message]).toStrictEqual([
        "Unavailable",
        `hostnetd at ${socket} did not answer GET /plan within 50 ms`,
      ]);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
