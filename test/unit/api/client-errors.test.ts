/**
 * Requests Node refuses before hostnet's routes see them (headers over its limit, bytes that are not HTTP),
 * sent over a real socket as clients send them: the answer arrives even while the client is still writing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../../src/api/http.js";
import { harness, silent, type Harness } from "../harness.js";

let h: Harness;
let app: FastifyInstance;
let dir: string;
let socket: string;

beforeEach(async () => {
  h = harness();
  app = await buildApp(h.service, silent);
  dir = mkdtempSync(join(tmpdir(), "hostnet-client-errors-"));
  socket = join(dir, "api.sock");
  await app.listen({ path: socket });
});
afterEach(async () => {
  await app.close();
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes `head` and then `bodyBytes` of body in chunks (`pauseMs` apart), and returns what came back before
 * the close.
 */
function exchange(
  head: string,
  bodyBytes: number,
  pauseMs = 0,
): Promise<{ answer: string; writeError?: string }> {
  return new Promise((resolve) => {
    // Half-open, as an HTTP client still writing its body is: the answer's FIN does not end its writing.
    const s = connect({ path: socket, allowHalfOpen: true });
    let answer = "";
    let writeError: string | undefined;
    s.on("data", (b: Buffer) => (answer += b.toString()));
    s.on("error", (err: NodeJS.ErrnoException) => (writeError = err.code));
    s.on("close", () => {
      resolve(writeError === undefined ? { answer } : { answer, writeError });
    });
    s.write(head);
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const more = (): void => {
      while (sent < bodyBytes && !s.destroyed) {
        sent += chunk.length;
        if (pauseMs > 0) return void s.write(chunk, () => setTimeout(more, pauseMs));
        if (!s.write(chunk)) return void s.once("drain", more);
      }
      if (!s.destroyed) s.end();
    };
    more();
  });
}

describe("requests Node refuses", () => {
  it("headers over the limit with a large body still being sent: 431 in hostnet's shape, no reset", async () => {
    const body = 4 * 1024 * 1024;
    const { answer, writeError } = await exchange(
      `POST /networks?unknown=${"h".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${String(body)}\r\n\r\n`,
      body,
    );
    expect(writeError).toBeUndefined();
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const json = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: { code: string } };
    expect(json.error.code).toBe("InvalidArgument");
  });

  it("a slow client still writing after 2 s is read to its end while it keeps sending, not reset", async () => {
    const body = 8 * 64 * 1024;
    const { answer, writeError } = await exchange(
      `POST /networks?unknown=${"h".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${String(body)}\r\n\r\n`,
      body,
      400,
    );
    expect(writeError).toBeUndefined();
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("a URL that is not valid, with a large body still being sent: 400 in hostnet's shape, no reset", async () => {
    const body = 8 * 64 * 1024;
    const { answer, writeError } = await exchange(
      `DELETE /endpoints/%C0%AF HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(body)}\r\n\r\n`,
      body,
      50,
    );
    expect(writeError).toBeUndefined();
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"message":"the URL is not valid"');
  });

  it("bytes that are not HTTP: 400, answered once", async () => {
    const { answer } = await exchange("NOT HTTP AT ALL\r\n\r\n", 256 * 1024);
    expect(answer.match(/HTTP\/1\.1 /g)).toEqual(["HTTP/1.1 "]);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });
});
