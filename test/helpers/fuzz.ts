/**
 * A fuzzer driven by hostnetd's own `GET /openapi.json`: for every route and method it draws malformed
 * requests with fast-check (wrong types, missing and unknown fields, huge strings and arrays, deep nesting,
 * invalid addresses and prefixes, names with path separators or control characters, bad path ids, bodies
 * that are not JSON) and sends them one at a time. What it checks: no answer is 5xx, hostnetd stays alive,
 * and a refused request changes nothing: the store is read after every request that wrote to it (one that
 * changed the database's write-ahead log) and must equal its listing before, and `hostnet plan` stays empty.
 */
import { statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import * as fc from "fast-check";
import type { TestDaemon } from "./daemon.js";
import type { Lab } from "./lab.js";
import { storeView } from "./ownership.js";

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly $ref?: string;
}

interface OpenApiOperation {
  readonly parameters?: readonly { in: string; name: string; schema?: JsonSchema }[];
  readonly requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

interface OpenApi {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly components?: { schemas?: Readonly<Record<string, JsonSchema>> };
}

/** One route and method of the API, as /openapi.json describes it. */
interface Route {
  readonly method: string;
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly query: Readonly<Record<string, JsonSchema>>;
  readonly body?: JsonSchema;
}

function routesOf(api: OpenApi): Route[] {
  return Object.entries(api.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = op.parameters ?? [];
      const body = op.requestBody?.content?.["application/json"]?.schema;
      return {
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === "path").map((p) => p.name),
        query: Object.fromEntries(
          params.filter((p) => p.in === "query").map((p) => [p.name, p.schema ?? {}]),
        ),
        ...(body === undefined ? {} : { body }),
      };
    }),
  );
}

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType?: string;
  readonly body?: string;
}

/** Names of the test's own objects, which requests refer to so that they reach past the lookups. */
export interface Fixtures {
  readonly prefix: string;
  readonly refs: readonly string[];
}

const BAD_TEXT = [
  "",
  " ",
  ".",
  "..",
  "a/b",
  "../../etc",
  "/",
  "\\",
  "a\u0000b",
  "line\nbreak",
  "tab\there",
  "\u001b[31m",
  "\u202e",
  "é",
  "💥",
  "%00",
  "%2F",
  "null",
  "{}",
  "[]",
  "-1",
  "1e309",
  "x".repeat(300),
  "eth0",
  "lo",
  "ACL",
  "NAT",
  "nat",
  "Overlay",
  "Transparent",
  "L2Bridge",
  "Private",
  "Internal",
  "DHCP",
  "Static",
  "tcp",
  "6",
  "80",
  "0",
  "65536",
  "2-1",
  "1-65535",
  "ADD",
  "DEL",
  "CHECK",
  "VERSION",
  "GC",
  "STATUS",
  "K8S_POD_NAME=a;K8S_POD_NAMESPACE=b",
  "=;;=",
  '{"cniVersion":"1.0.0","name":"fz","type":"hostnet","network":"fz-cni","ipam":{"subnet":"10.87.0.0/24"}}',
  '{"cniVersion":"1.0.0","name":"fz","type":"hostnet","network":"fz","ipam":{"subnet":"10.85.0.0/33"}}',
  '{"cniVersion":"9.9.9","name":"fz","type":"hostnet"}',
  '{"cniVersion":"1.0.0","name":"fz","type":"hostnet","network":"fz","runtimeConfig":{"portMappings":[{"hostPort":-1}]}}',
];
/** Keys of string maps (the CNI call's environment) beside junk. */
const MAP_KEYS = [
  "CNI_COMMAND",
  "CNI_CONTAINERID",
  "CNI_NETNS",
  "CNI_IFNAME",
  "CNI_ARGS",
  "CNI_PATH",
  "X",
  "",
];
const BAD_ADDRESSES = [
  "10.85.0.1",
  "10.85.0.0/24",
  "10.85.0.255",
  "10.85.0.0/33",
  "10.85.0.0/-1",
  "10.85.0.1/24",
  "10.86.0.0/16",
  "0.0.0.0/0",
  "0.0.0.0",
  "255.255.255.255",
  "224.0.0.1",
  "127.0.0.1",
  "169.254.0.1/16",
  "999.1.1.1",
  "1.2.3",
  "1.2.3.4.5",
  "01.02.03.04",
  "10.85.0.0/24,10.85.1.0/24",
  "fd85::/64",
  "fd85::1",
  "fd85::/129",
  "::/0",
  "::",
  "::1",
  "fe80::1%eth0",
  "::ffff:10.85.0.5",
  "fd85:::1",
  "gggg::1",
  "00:11:22:33:44:55",
  "ff:ff:ff:ff:ff:ff",
  "01:00:5e:00:00:01",
  "zz:zz:zz:zz:zz:zz",
  "00-11-22-33-44-55",
];
/** Paths a request may name: nonexistent, not a namespace, or escaping; never one of the machine's own. */
const BAD_PATHS = [
  "/run/netns/does-not-exist",
  "/run/netns/../netns/does-not-exist",
  "relative/netns",
  "/etc/hostname",
  "/tmp",
  "/run/netns/",
];

const text = (fixtures: Fixtures): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...BAD_TEXT, ...fixtures.refs) },
    { weight: 3, arbitrary: fc.constantFrom(...BAD_ADDRESSES, ...BAD_PATHS) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(10_000, 200_000).map((n) => "h".repeat(n)) },
  );

/** JSON values of every type but the one the schema wants, and structures that are too big or too deep. */
function wrong(fixtures: Fixtures): fc.Arbitrary<unknown> {
  const deep = fc.integer({ min: 50, max: 1000 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
    return v;
  });
  return fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, {}, []),
    text(fixtures),
    fc.array(fc.oneof(fc.integer(), text(fixtures)), { maxLength: 5 }),
    fc.constantFrom(1000, 20_000).map((n) => Array.from({ length: n }, (_, i) => i)),
    deep,
    fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 4 }),
  );
}

function resolve(schema: JsonSchema, api: OpenApi): JsonSchema {
  const ref = schema.$ref;
  if (ref === undefined) return schema;
  return api.components?.schemas?.[ref.split("/").at(-1) ?? ""] ?? {};
}

/**
 * Values shaped by the schema with some part malformed: each property present or not, now and then a
 * wrong value in its place or an unknown property beside it; leaves of the right type drawn from values
 * that are close to valid (addresses, prefixes, names of the test's objects) and values that are not.
 */
function shaped(schema: JsonSchema, api: OpenApi, fixtures: Fixtures, depth: number): fc.Arbitrary<unknown> {
  const s = resolve(schema, api);
  const alternatives = s.anyOf ?? s.oneOf;
  const bad = wrong(fixtures);
  const right = ((): fc.Arbitrary<unknown> => {
    if (alternatives !== undefined && alternatives.length > 0)
      return fc.oneof(...alternatives.map((a) => shaped(a, api, fixtures, depth)));
    if (s.enum !== undefined && s.enum.length > 0) return fc.constantFrom(...s.enum);
    if (s.const !== undefined) return fc.constant(s.const);
    const type: string = (typeof s.type === "string" ? s.type : s.type?.[0]) ?? "";
    switch (type) {
      case "object": {
        const props = s.properties ?? {};
        if (Object.keys(props).length === 0 && typeof s.additionalProperties === "object")
          return fc.dictionary(
            fc.constantFrom(...MAP_KEYS),
            shaped(s.additionalProperties, api, fixtures, depth + 1),
            {
              maxKeys: 6,
            },
          );
        if (depth > 4 || Object.keys(props).length === 0)
          return fc.dictionary(fc.constantFrom("Type", "Settings", "X", "Name"), bad, { maxKeys: 3 });
        const entries = Object.entries(props).map(
          ([key, sub]) =>
            [key, fc.option(shaped(sub, api, fixtures, depth + 1), { nil: undefined })] as const,
        );
        return fc
          .tuple(
            fc.record(Object.fromEntries(entries)),
            fc.option(fc.tuple(fc.constantFrom("Unknown", "__proto__", "constructor", "name", ""), bad)),
          )
          .map(([record, extra]) => {
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
            if (extra !== null) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true });
            return out;
          });
      }
      case "array":
        return fc.array(shaped(s.items ?? {}, api, fixtures, depth + 1), { maxLength: 4 });
      case "integer":
      case "number":
        return fc.oneof(
          fc.constantFrom(-1, 0, 1, 4094, 4095, 4096, 65535, 65536, 9000, 68, 1e9, 2 ** 24, 2 ** 32),
          fc.integer(),
        );
      case "boolean":
        return fc.boolean();
      case "string":
        return text(fixtures);
      default:
        return bad;
    }
  })();
  return fc.oneof({ weight: 5, arbitrary: right }, { weight: 1, arbitrary: bad });
}

/** A path id: the test's objects, malformed ones, percent-encoded or raw. */
const pathId = (fixtures: Fixtures): fc.Arbitrary<string> =>
  fc.oneof(
    text(fixtures).map(encodeURIComponent),
    fc.constantFrom("%", "%zz", "a%2Fb", "..%2F..", "a/b", "a?b=c", "a#b", "%C0%AF", ";"),
    fc.constantFrom(...fixtures.refs).map(encodeURIComponent),
  );

/** Bodies that are not the JSON object a route wants. */
const rawBodies = fc.constantFrom(
  { body: "{" },
  { body: "" },
  { body: "null" },
  { body: "[]" },
  { body: '"text"' },
  { body: "{}" },
  { body: '{"a":1,"a":2}' },
  { body: "\u0000" },
  { body: "x".repeat(2 << 20) },
  { body: `${"[".repeat(100_000)}${"]".repeat(100_000)}` },
  { body: `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}` },
  { body: "{}", contentType: "text/plain" },
  { body: "<xml/>", contentType: "application/xml" },
  { body: "{}", contentType: "application/json; charset=latin1" },
);

function requestsFor(route: Route, api: OpenApi, fixtures: Fixtures): fc.Arbitrary<FuzzRequest> {
  const path = fc
    .tuple(...route.pathParams.map(() => pathId(fixtures)), fc.constant(""))
    .map((ids) => route.pathParams.reduce((p, name, i) => p.replace(`{${name}}`, ids[i] ?? ""), route.path));
  const queryKeys = [...Object.keys(route.query), "unknown"];
  const query = fc
    .dictionary(fc.constantFrom(...queryKeys), text(fixtures), { maxKeys: 3 })
    .map((q) => (Object.keys(q).length === 0 ? "" : `?${new URLSearchParams(q).toString()}`));
  const body =
    route.body === undefined
      ? fc.oneof(fc.constant({}), rawBodies)
      : fc.oneof(
          {
            weight: 6,
            arbitrary: shaped(route.body, api, fixtures, 0).map((v) => ({ body: JSON.stringify(v) })),
          },
          { weight: 1, arbitrary: rawBodies },
        );
  return fc
    .tuple(path, query, body)
    .map(([p, q, b]: [string, string, { body?: string; contentType?: string }]) => ({
      method: route.method,
      path: p + q,
      ...(b.body === undefined
        ? {}
        : { body: safe(b.body, fixtures), contentType: b.contentType ?? "application/json" }),
    }));
}

/**
 * Keeps a request inside the test: a namespace name the request could create becomes one of the test's
 * prefix (hostnetd makes /run/netns/NAME on the machine), and no path points into /proc or /sys.
 */
function safe(body: string, fixtures: Fixtures): string {
  return body
    .replace(/"Name":"([A-Za-z0-9_.-]+)"/g, (_m, name: string) =>
      `"Name":"${fixtures.prefix}-${name}"`.slice(0, 200),
    )
    .replace(/\/(proc|sys|dev)\b/g, "/nonexistent");
}

/**
 * Sends one request; status 0 when hostnetd closed the connection before answering, which it may do while
 * a body over its limit is still being written (it answers 413 and closes, and the answer may be lost).
 */
function send(socket: string, req: FuzzRequest): Promise<{ status: number; text: string }> {
  let status = 0;
  return new Promise((resolvePromise) => {
    const r = httpRequest(
      {
        socketPath: socket,
        // A connection of its own: one hostnetd closed after a refusal must not fail the next request.
        agent: false,
        method: req.method,
        path: req.path,
        headers:
          req.body === undefined
            ? {}
            : {
                "content-type": req.contentType ?? "application/json",
                "content-length": Buffer.byteLength(req.body),
              },
      },
      (res) => {
        status = res.statusCode ?? 0;
        // A stream (GET /events without an end in the past) goes on until the reader leaves: its status
        // is the answer.
        if (res.headers["content-type"]?.startsWith("application/x-ndjson") === true) {
          r.destroy();
          resolvePromise({ status, text: "(a stream)" });
          return;
        }
        let text = "";
        res.on("data", (b: Buffer) => (text += b.toString()));
        res.on("end", () => {
          resolvePromise({ status: res.statusCode ?? 0, text });
        });
      },
    );
    r.on("error", (err: NodeJS.ErrnoException) => {
      resolvePromise({ status, text: err.code ?? err.message });
    });
    r.end(req.body);
  });
}

export interface FuzzOptions {
  readonly requests: number;
  readonly seed: number;
}

export interface FuzzFigures {
  readonly seed: number;
  readonly requests: number;
  /** Routes and methods /openapi.json lists, each of which got requests. */
  readonly routes: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests hostnetd took (2xx), which may change the store. */
  readonly accepted: number;
  readonly serverErrors: readonly string[];
  /** Refused requests after which the store's listing differed from before. */
  readonly changedByRefused: readonly string[];
  readonly planNotEmpty: readonly string[];
  /** Requests whose connection hostnetd closed with no answer, neither sent nor logged. */
  readonly closedEarly: readonly string[];
  readonly alive: boolean;
  readonly seconds: number;
}

/**
 * How many of `total` requests each route gets: evenly, but a route with nothing to malform (no path id,
 * query or body: `GET /plan`, whose full observation is slow, and `GET /globals/version`) at most
 * BARE_ROUTE_REQUESTS.
 */
function requestShares(routes: readonly Route[], total: number): number[] {
  const bare = (r: Route): boolean =>
    r.pathParams.length === 0 && Object.keys(r.query).length === 0 && r.body === undefined;
  const bareShare = Math.min(BARE_ROUTE_REQUESTS, Math.ceil(total / routes.length / 4));
  const rest = routes.filter((r) => !bare(r)).length;
  const share = Math.ceil((total - bareShare * (routes.length - rest)) / Math.max(rest, 1));
  return routes.map((r) => (bare(r) ? bareShare : share));
}

const BARE_ROUTE_REQUESTS = 20;

/**
 * The status hostnetd logged for the request whose answer the client lost: it may answer (a 404, a 413, a
 * 431 for headers over Node's limit) and close before it has read the whole body, and the client, still
 * writing, sees only EPIPE. 0 if none.
 */
function loggedStatus(logs: string): number {
  const m = /"res":\{"statusCode":(\d+)\}/.exec(logs);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

/** How often, in requests, the fuzzer checks that `hostnet plan` is still empty. */
const PLAN_EVERY = 500;

const excerpt = (s: string): string => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…` : s);

/**
 * Sends `opts.requests` requests spread evenly over every route and method of /openapi.json, one at a
 * time, to a hostnetd that holds the test's fixtures.
 */
export async function runFuzz(d: TestDaemon, fixtures: Fixtures, opts: FuzzOptions): Promise<FuzzFigures> {
  const started = performance.now();
  const api = (await d.ok("GET", "/openapi.json")) as unknown as OpenApi;
  const routes = routesOf(api);
  const shares = requestShares(routes, opts.requests);
  const drawn = routes.map((route, i) =>
    fc.sample(requestsFor(route, api, fixtures), { seed: opts.seed + i, numRuns: shares[i] ?? 0 }),
  );
  // Round robin over the routes, so that a shorter run still reaches all of them.
  const longest = Math.max(...shares);
  const requests = Array.from({ length: longest }, (_, j) =>
    drawn.flatMap((list) => list.slice(j, j + 1)),
  ).flat();

  // hostnetd holds its database exclusively, so no connection of the test's can read it while it runs; every
  // commit appends to the write-ahead log (or starts it again after a checkpoint), which changes its mtime.
  const wal = join(d.stateDir, "hostnet.db-wal");
  const version = (): string => {
    const s = statSync(wal, { bigint: true, throwIfNoEntry: false });
    return s === undefined ? "" : `${s.mtimeNs}:${s.size}`;
  };
  const listing = async (): Promise<string> => JSON.stringify(await storeView(d));
  const plan = async (): Promise<unknown[]> =>
    (await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations;
  const statuses: Record<string, number> = {};
  const serverErrors: string[] = [];
  const changedByRefused: string[] = [];
  const planNotEmpty: string[] = [];
  const closedEarly: string[] = [];
  let accepted = 0;
  if ((await plan()).length > 0) planNotEmpty.push("before the first request");
  let before = await listing();
  let seen = version();
  for (const [i, req] of requests.entries()) {
    if (i > 0 && i % PLAN_EVERY === 0 && (await plan()).length > 0) planNotEmpty.push(`before #${i}`);
    const logged = d.logs().length;
    const answer = await send(d.socket, req);
    const { text } = answer;
    let status = answer.status;
    // hostnetd's log line comes through a pipe: give it a moment, a few on a loaded machine.
    for (let wait = 0; status === 0 && wait < 100; wait++) {
      await new Promise((r) => setTimeout(r, 50));
      status = loggedStatus(d.logs().slice(logged));
    }
    statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    const what = `#${i} ${req.method} ${excerpt(req.path)} ${excerpt(req.body ?? "")} → ${status} ${excerpt(text)}`;
    if (status >= 500) serverErrors.push(what);
    if (status === 0) closedEarly.push(what);
    if (status >= 200 && status < 300 && req.method !== "GET") accepted++;
    if (version() === seen) continue;
    seen = version();
    const after = await listing();
    if (status >= 400 && after !== before) changedByRefused.push(what);
    before = after;
  }
  if ((await plan()).length > 0) planNotEmpty.push("after the last request");
  const alive = (await send(d.socket, { method: "GET", path: "/globals/version" })).status === 200;
  return {
    seed: opts.seed,
    requests: requests.length,
    routes: routes.length,
    statuses,
    accepted,
    serverErrors,
    changedByRefused,
    planNotEmpty,
    closedEarly,
    alive,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** A network, a namespace and an endpoint attached to it, for requests to name. */
export async function fuzzFixtures(lab: Lab): Promise<Fixtures> {
  const net = await lab.network("fz", ["10.85.0.0/24"]);
  const ep = await lab.container("fz-ep", "fz");
  const ns = lab.t.ns("fz-ep");
  const nsId = (await lab.d.ok<{ ID: string }>("GET", `/namespaces/${ns}`)).ID;
  return { prefix: lab.t.prefix, refs: ["fz", "fz-ep", ns, net.ID, ep.ID, nsId, `/run/netns/${ns}`] };
}
