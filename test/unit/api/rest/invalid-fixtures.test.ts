/**
 * Every file in test/fixtures/invalid is one bad request (netavark's testfiles/create/*.json):
 * `{ "path", "body", "status", "field" }`. Each is POSTed to a hostnetd that already has network "fixnet"
 * (10.99.0.0/24 and fd99::/64), namespace "unit-fixture-ns" and detached endpoint "fixep" (10.99.0.50,
 * host port 9090/tcp), and must be refused with that status, naming that field, creating nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../../../src/api/http.js";
import { harness, silent, type Harness } from "../../harness.js";

interface Fixture {
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
  readonly field: string;
}

const dir = resolve(import.meta.dirname, "../../../fixtures/invalid");

function load(file: string): Fixture {
  const raw = JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>;
  const { path, body, status, field } = raw;
  if (typeof path !== "string" || typeof status !== "number" || typeof field !== "string" || !("body" in raw))
    throw new Error(`${file}: needs "path" (string), "body", "status" (number) and "field" (string)`);
  return { path, body, status, field };
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();
const codeOf: Record<number, string> = { 400: "InvalidArgument", 404: "NotFound", 409: "Conflict" };

let h: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  h = harness();
  app = await buildApp(h.service, silent);
  await h.service.createNetwork({
    name: "fixnet",
    type: "NAT",
    subnets: [
      { prefix: "10.99.0.0/24", prefixField: "p", gatewayField: "g" },
      { prefix: "fd99::/64", prefixField: "p", gatewayField: "g" },
    ],
  });
  await h.service.createNamespace({ name: "unit-fixture-ns" });
  await h.service.createEndpoint({
    name: "fixep",
    network: "fixnet",
    policies: [],
    ips: [{ field: "f", address: "10.99.0.50" }],
    portMappings: [
      {
        field: "p",
        protocol: "tcp",
        hostPort: { value: 9090, field: "p.h" },
        internalPort: { value: 80, field: "p.i" },
      },
    ],
  });
});
afterAll(async () => {
  await app.close();
  h.close();
});

describe("test/fixtures/invalid", () => {
  it("has fixtures, each well formed", () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    for (const f of files) expect(() => load(f)).not.toThrow();
  });

  it.each(files)("%s", async (file) => {
    const fx = load(file);
    const before = { n: h.service.networks(), e: h.service.endpoints(), s: h.service.namespaces() };
    const applied = h.kernel.applied.length;
    const res = await app.inject({ method: "POST", url: fx.path, payload: fx.body as object });
    expect(res.statusCode, res.body).toBe(fx.status);
    const body = res.json<{ error: { code: string; message: string; field?: string } }>();
    expect(body.error.field, body.error.message).toBe(fx.field);
    expect(body.error.code).toBe(codeOf[fx.status]);
    expect(body.error.message.startsWith(`${fx.field}:`) || fx.status !== 400).toBe(true);
    expect({ n: h.service.networks(), e: h.service.endpoints(), s: h.service.namespaces() }).toEqual(before);
    expect(h.kernel.applied).toHaveLength(applied);
  });
});
