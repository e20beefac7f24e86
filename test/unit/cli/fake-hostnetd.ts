/**
 * A stand-in for hostnetd on a temp unix socket: records every request and answers from canned replies,
 * so the whole CLI runs in process without root or a kernel.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../src/cli/main.js";

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  /** Parsed JSON, or undefined when the request had no body. */
  readonly body: unknown;
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is instead of `body`, for answers that are not JSON. */
  readonly raw?: string;
}

export interface FakeHostnetd {
  readonly socket: string;
  readonly dir: string;
  readonly requests: Recorded[];
  /** Answers `METHOD URL` (URL with its query) with `reply` from now on. */
  on(method: string, url: string, reply: Reply): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      resolve(text);
    });
    req.on("error", reject);
  });
}

export async function startFakeHostnetd(): Promise<FakeHostnetd> {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-cli-"));
  const socket = join(dir, "hostnet.sock");
  const requests: Recorded[] = [];
  const replies = new Map<string, Reply>();

  const server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const method = req.method ?? "";
      const url = req.url ?? "";
      requests.push({
        method,
        url,
        contentType: req.headers["content-type"],
        body: text === "" ? undefined : (JSON.parse(text) as unknown),
      });
      const reply = replies.get(`${method} ${url}`) ?? {
        status: 404,
        body: { error: { code: "NotFound", message: `no route ${method} ${url}` } },
      };
      const payload = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
      res.writeHead(reply.status, payload === "" ? {} : { "content-type": "application/json" });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));

  return {
    socket,
    dir,
    requests,
    on(method, url, reply) {
      replies.set(`${method} ${url}`, reply);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `hostnet ARGV…` in process, as bin/hostnet.ts does, capturing its output. */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}
