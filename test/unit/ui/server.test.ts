/** `hostnet ui`'s server against a stand-in hostnetd: the page, the read-only proxy, and what it refuses. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startUiServer, type UiServer } from "../../../src/ui/server.js";
import { startFakeHostnetd, type FakeHostnetd } from "../cli/fake-hostnetd.js";
import { natNetwork } from "../cli/samples.js";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

let hostnetd: FakeHostnetd;
let ui: UiServer;
let page: string;

/** `method path` to the ui server, with `host` as the Host header (default: its own address). */
function ask(path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: ui.address.port,
        method: options.method ?? "GET",
        path,
        headers: { host: options.host ?? `127.0.0.1:${ui.address.port}` },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeEach(async () => {
  hostnetd = await startFakeHostnetd();
  page = mkdtempSync(join(tmpdir(), "hostnet-ui-"));
  writeFileSync(join(page, "index.html"), "<!doctype html><title>hostnet</title>");
  writeFileSync(join(page, "app.js"), "void 0;");
  writeFileSync(join(page, "app.css"), "body{}");
  ui = await startUiServer(hostnetd.socket, { host: "127.0.0.1", port: 0 }, page);
});
afterEach(async () => {
  await ui.close();
  await hostnetd.close();
  rmSync(page, { recursive: true, force: true });
});

describe("hostnet ui's server", () => {
  it("listens on the port the kernel picked for port 0", () => {
    expect(ui.address.host).toBe("127.0.0.1");
    expect(ui.address.port).toBeGreaterThan(0);
  });

  it("serves the built page with a policy that keeps it to its own files", async () => {
    const index = await ask("/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.body).toContain("<title>hostnet</title>");
    expect(index.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(index.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect((await ask("/app.js")).headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect((await ask("/app.css")).body).toBe("body{}");
  });

  it("answers the page's reads with hostnetd's answers, asked with GET", async () => {
    hostnetd.on("GET", "/networks", { status: 200, body: [natNetwork] });
    const answer = await ask("/api/networks");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toStrictEqual([natNetwork]);
    expect(answer.headers["cache-control"]).toBe("no-store");
    // hostnetd's refusals come through as they are.
    const missing = await ask("/api/endpoints/nope/stats");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toStrictEqual({
      error: { code: "NotFound", message: "no route GET /endpoints/nope/stats" },
    });
    expect(hostnetd.requests.map((r) => `${r.method} ${r.url}`)).toStrictEqual([
      "GET /networks",
      "GET /endpoints/nope/stats",
    ]);
  });

  it("passes only since to the event stream", async () => {
    hostnetd.on("GET", "/events?since=2026-12-07T10%3A00%3A00Z", { status: 200, raw: "" });
    await ask("/api/events?since=2026-12-07T10:00:00Z&until=0&kind=network");
    await ask("/api/events");
    expect(hostnetd.requests.map((r) => r.url)).toStrictEqual([
      "/events?since=2026-12-07T10%3A00%3A00Z",
      "/events",
    ]);
  });

  it.each([
    ["POST", "/api/networks"],
    ["DELETE", "/api/endpoints/web1"],
    ["PUT", "/api/loadbalancers"],
    ["HEAD", "/api/networks"],
  ])("refuses %s %s without asking hostnetd: the page is read-only", async (method, path) => {
    const answer = await ask(path, { method });
    expect(answer.status).toBe(405);
    expect(answer.headers["allow"]).toBe("GET");
    expect(hostnetd.requests).toStrictEqual([]);
  });

  it.each([
    "/api/plan",
    "/api/metrics",
    "/api/networks/nat",
    "/api/endpoints/a/b/stats",
    "/networks",
    "/../etc/passwd",
  ])("serves nothing else: %s", async (path) => {
    expect((await ask(path)).status).toBe(404);
    expect(hostnetd.requests).toStrictEqual([]);
  });

  it("answers only loopback names while on loopback (no DNS rebinding)", async () => {
    hostnetd.on("GET", "/networks", { status: 200, body: [] });
    expect((await ask("/api/networks", { host: "attacker.example" })).status).toBe(421);
    expect((await ask("/", { host: `rebound.example:${ui.address.port}` })).status).toBe(421);
    expect(hostnetd.requests).toStrictEqual([]);
    expect((await ask("/api/networks", { host: `localhost:${ui.address.port}` })).status).toBe(200);
    expect((await ask("/api/networks", { host: `[::1]:${ui.address.port}` })).status).toBe(200);
  });

  it("says hostnetd is unreachable as its own error", async () => {
    await hostnetd.close();
    const answer = await ask("/api/networks");
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "Unavailable" } });
  });

  it("refuses to start without a built page, saying what to do", async () => {
    await expect(
      startUiServer(hostnetd.socket, { host: "127.0.0.1", port: 0 }, join(page, "none")),
    ).rejects.toThrow(/the page is not built/);
  });

  it("says when it cannot listen", async () => {
    await expect(startUiServer(hostnetd.socket, ui.address, page)).rejects.toThrow(
      new RegExp(`cannot listen on 127.0.0.1 port ${ui.address.port}`),
    );
  });
});
