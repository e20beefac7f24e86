/**
 * The CNI plugin executable (cni/hostnet-cni.c) against a fake hostnetd: a node:http server on a unix
 * socket. The shim must relay the CNI_* environment and stdin byte for byte, print the body and exit with
 * Hostnet-Cni-Exit, and turn every failure into a CNI error on stdout.
 */
import { latestVersion, supportedVersions } from "../../../../src/api/cni/versions.js";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SHIM = join(ROOT, "dist", "cni", "hostnet-cni");

interface Call {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawLength: number;
  readonly body: { env: Record<string, string>; stdin: string };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** A string is sent with a Content-Length, as fastify does; an array in chunked encoding, piece by piece. */
  readonly body: string | readonly string[];
  /** Answers as soon as the request's head is in, without reading its body. */
  readonly early?: boolean;
}

interface Fake {
  readonly socket: string;
  readonly calls: Call[];
  answer: Answer;
  close(): Promise<void>;
}

const ok = (body: string, exit = 0): Answer => ({
  status: 200,
  headers: { "Content-Type": "application/json", "Hostnet-Cni-Exit": String(exit) },
  body,
});

async function fakeHostnetd(socket: string): Promise<Fake> {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    const answer = (): void => {
      const { status, headers, body } = fake.answer;
      if (typeof body === "string") {
        res.writeHead(status, { ...headers, "Content-Length": String(Buffer.byteLength(body)) });
        res.end(body);
      } else {
        res.writeHead(status, headers);
        for (const piece of body) res.write(piece);
        res.end();
      }
    };
    // As fastify refuses a body over its limit: answer at once and close, the body unread.
    if (fake.answer.early === true) {
      answer();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      calls.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawLength: raw.length,
        body: JSON.parse(raw.toString("utf8")) as Call["body"],
      });
      answer();
    });
  });
  const fake: Fake = {
    socket,
    calls,
    answer: ok(""),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });
  return fake;
}

interface ShimResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the shim with exactly env (nothing inherited) and stdin. */
function shim(stdin: string, env: Record<string, string>): Promise<ShimResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHIM, [], { env, stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    // The shim stops reading a stdin over its limit and exits: writing the rest then fails with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

const parse = (stdout: string): unknown => JSON.parse(stdout);

let dir: string;
let a: Fake;
let b: Fake;

beforeAll(async () => {
  execFileSync("sh", ["scripts/build-cni.sh"], { cwd: ROOT, stdio: "inherit" });
  dir = mkdtempSync(join(tmpdir(), "hostnet-cni-shim-"));
  a = await fakeHostnetd(join(dir, "a.sock"));
  b = await fakeHostnetd(join(dir, "b.sock"));
}, 60_000);

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const fake of [a, b]) {
    fake.calls.length = 0;
    fake.answer = ok("");
  }
});

describe("request", () => {
  it("relays the CNI_* variables that are set and stdin intact, as one POST /cni", async () => {
    const stdin =
      '{"cniVersion":"1.0.0","name":"a \\"quoted\\" back\\\\slash"}\n' +
      'raw "quotes" \\ backslash\ttab\r\nnewline \u0001 ctrl \u001f unit sep, é ☃ 𝄞 and DEL \u007f';
    const env = {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c0ffee",
      CNI_NETNS: "/run/netns/x y",
      CNI_IFNAME: "eth0",
      CNI_ARGS: 'K8S_POD_NAME=p;X="y"\\z',
      CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
    };
    a.answer = ok('{"cniVersion":"1.0.0"}');
    const r = await shim(stdin, { ...env, HOSTNET_SOCKET: a.socket, UNRELATED: "not relayed" });
    expect(r).toEqual({ code: 0, stdout: '{"cniVersion":"1.0.0"}', stderr: "" });
    expect(a.calls).toHaveLength(1);
    const call = a.calls[0];
    expect(call?.method).toBe("POST");
    expect(call?.url).toBe("/cni");
    expect(call?.headers).toMatchObject({
      host: "hostnet",
      "content-type": "application/json",
      "content-length": String(call?.rawLength),
      connection: "close",
    });
    expect(call?.body).toEqual({ env, stdin });
  });

  it("relays only the variables that are set, and an empty stdin", async () => {
    const r = await shim("", { CNI_COMMAND: "STATUS", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(0);
    expect(a.calls[0]?.body).toEqual({ env: { CNI_COMMAND: "STATUS" }, stdin: "" });
  });

  it("answers VERSION itself, as hostnetd would, without asking it", async () => {
    for (const [asked, answer] of [
      ["0.4.0", "0.4.0"],
      ["0.2.0", latestVersion],
    ]) {
      const r = await shim(`{"cniVersion":"${asked}"}`, {
        CNI_COMMAND: "VERSION",
        HOSTNET_SOCKET: join(dir, "none"),
      });
      expect({ code: r.code, out: parse(r.stdout) }).toEqual({
        code: 0,
        out: { cniVersion: answer, supportedVersions: [...supportedVersions] },
      });
    }
    expect(a.calls).toEqual([]);
  });

  it("relays a stdin of about 1 MiB with escapes throughout", async () => {
    const stdin = `{"cniVersion":"1.0.0","blob":"${'é"\\\n\u0002x'.repeat(150_000)}"}`;
    const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(0);
    expect(a.calls[0]?.body.stdin).toBe(stdin);
  });
});

describe("response", () => {
  it("prints the body and exits 0", async () => {
    const result = JSON.stringify({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", sandbox: "/run/netns/x" }],
      ips: [{ address: "10.88.0.2/16", gateway: "10.88.0.1", interface: 0 }],
    });
    a.answer = ok(result);
    expect(await shim("{}", { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket })).toEqual({
      code: 0,
      stdout: result,
      stderr: "",
    });
  });

  it("prints an error and exits with the status hostnetd chose, whatever the header's case", async () => {
    const error = JSON.stringify({ cniVersion: "1.0.0", code: 7, msg: "bad configuration", details: "ipam" });
    a.answer = { status: 200, headers: { "hostnet-cni-exit": "1" }, body: error };
    expect(await shim("{}", { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket })).toEqual({
      code: 1,
      stdout: error,
      stderr: "",
    });
    a.answer = ok("", 255);
    expect((await shim("{}", { CNI_COMMAND: "DEL", HOSTNET_SOCKET: a.socket })).code).toBe(255);
  });

  it("decodes a chunked body", async () => {
    a.answer = {
      status: 200,
      headers: { "Hostnet-Cni-Exit": "0" },
      body: ['{"cniVersion":', "", '"1.0.0"}'],
    };
    expect(await shim("{}", { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket })).toEqual({
      code: 0,
      stdout: '{"cniVersion":"1.0.0"}',
      stderr: "",
    });
  });

  it("relays a body of about 1 MiB byte for byte, with a Content-Length or chunked", async () => {
    const result = JSON.stringify({ cniVersion: "1.0.0", blob: "é☃𝄞x".repeat(100_000) });
    expect(Buffer.byteLength(result)).toBeGreaterThan(1_000_000);
    const pieces = result.match(/[^]{1,65536}/gu) ?? [];
    for (const body of [result, pieces]) {
      a.answer = { ...ok(""), body };
      const r = await shim("{}", { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBe(result.length);
      expect(r.stdout === result).toBe(true);
    }
  });
});

describe("socket", () => {
  it('takes the configuration\'s top-level "socket" over HOSTNET_SOCKET, escapes decoded', async () => {
    const stdin = `{"cniVersion":"1.0.0","socket":"${b.socket.replaceAll("/", "\\/")}"}`;
    const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(0);
    expect(a.calls).toHaveLength(0);
    expect(b.calls).toHaveLength(1);
  });

  it('never takes a nested "socket" key, nor a string value "socket"', async () => {
    const missing = join(dir, "missing.sock");
    const stdin = JSON.stringify({
      cniVersion: "1.0.0",
      name: "socket",
      args: ["socket", missing],
      ipam: { type: "x", socket: missing, ranges: [[{ socket: missing }]] },
      note: '{"socket":"not a key"}',
    });
    const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(0);
    expect(a.calls).toHaveLength(1);
  });

  it("takes HOSTNET_SOCKET when the configuration names none", async () => {
    const r = await shim('{"cniVersion":"1.0.0"}', { CNI_COMMAND: "ADD", HOSTNET_SOCKET: b.socket });
    expect(r.code).toBe(0);
    expect(b.calls).toHaveLength(1);
  });
});

describe("failures", () => {
  it("reports an unreachable hostnetd as code 11 in the configuration's cniVersion, exit 1", async () => {
    const missing = join(dir, "missing.sock");
    const r = await shim('{"cniVersion":"0.4.0","name":"n"}', {
      CNI_COMMAND: "ADD",
      HOSTNET_SOCKET: missing,
    });
    expect(r.code).toBe(1);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    expect(parse(r.stdout)).toEqual({
      cniVersion: "0.4.0",
      code: 11,
      msg: "hostnetd is not reachable",
      details: `${missing}: No such file or directory`,
    });
  });

  it("reports an unreachable hostnetd as code 50 for STATUS, and cniVersion 1.0.0 when stdin has none", async () => {
    const missing = join(dir, 'missing "quoted".sock');
    const r = await shim('{"name":"n"}', { CNI_COMMAND: "STATUS", HOSTNET_SOCKET: missing });
    expect(r.code).toBe(1);
    expect(parse(r.stdout)).toEqual({
      cniVersion: "1.0.0",
      code: 50,
      msg: "hostnetd is not reachable",
      details: `${missing}: No such file or directory`,
    });
  });

  it("reports a configuration that is not one JSON object as code 6 when hostnetd cannot be reached", async () => {
    const missing = join(dir, "missing.sock");
    const inputs = [
      "not json",
      "",
      "[]",
      '"{}"',
      "{",
      '{"a":1,}',
      '{"a" 1}',
      "{'a':1}",
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":1e}',
      '{"a":-}',
      '{"a":tru}',
      '{"a":"\\x"}',
      '{"a":"\\u12g4"}',
      '{"a":"tab\there"}',
      '{"a":[1,2,]}',
      '{"a":{}} {}',
      "[".repeat(2000),
      '{} {"b":2}',
      '{"a":1}',
      ' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n",{"b":{}}],"c":[]} ',
      '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"hostnet","socket":"/x"}]}',
      `{"deep":${"[".repeat(900)}${"]".repeat(900)}}`,
    ];
    for (const stdin of inputs) {
      let isObject: boolean;
      try {
        const v: unknown = JSON.parse(stdin);
        isObject = typeof v === "object" && v !== null && !Array.isArray(v);
      } catch {
        isObject = false;
      }
      const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: missing });
      expect([r.code, (parse(r.stdout) as { code: number }).code], stdin).toEqual([1, isObject ? 11 : 6]);
    }
  });

  it("reports a status other than 200 as code 11 with the start of the body", async () => {
    a.answer = { status: 500, headers: { "Hostnet-Cni-Exit": "0" }, body: `boom "${"x".repeat(300)}` };
    const r = await shim('{"cniVersion":"1.1.0"}', { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(1);
    expect(parse(r.stdout)).toEqual({
      cniVersion: "1.1.0",
      code: 11,
      msg: "hostnetd answered HTTP 500",
      details: `boom "${"x".repeat(194)}`,
    });
  });

  it("reports the answer of a hostnetd that refused the request before reading it all", async () => {
    a.answer = { status: 413, headers: {}, body: '{"error":"Payload Too Large"}', early: true };
    const stdin = `{"cniVersion":"1.0.0","blob":"${"x".repeat(4 << 20)}"}`;
    const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(1);
    expect(parse(r.stdout)).toEqual({
      cniVersion: "1.0.0",
      code: 11,
      msg: "hostnetd answered HTTP 413",
      details: '{"error":"Payload Too Large"}',
    });
  });

  it("reports a 200 without Hostnet-Cni-Exit as code 11", async () => {
    a.answer = { status: 200, headers: {}, body: "{}" };
    const r = await shim('{"cniVersion":"1.0.0"}', { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(1);
    expect(parse(r.stdout)).toEqual({
      cniVersion: "1.0.0",
      code: 11,
      msg: "hostnetd answered HTTP 200",
      details: "{}",
    });
  });

  it("refuses a stdin over 16 MiB with code 5, without calling hostnetd", async () => {
    const stdin = `{"cniVersion":"1.0.0","blob":"${"x".repeat(16 << 20)}"}`;
    const r = await shim(stdin, { CNI_COMMAND: "ADD", HOSTNET_SOCKET: a.socket });
    expect(r.code).toBe(1);
    expect(parse(r.stdout)).toMatchObject({ cniVersion: "1.0.0", code: 5 });
    expect(a.calls).toHaveLength(0);
  });
});
