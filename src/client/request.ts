/**
 * One JSON request to hostnetd over its unix socket. Every failure comes back as a HostnetError, so a
 * caller maps errors once, whether hostnetd refused the request or could not be reached at all.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { errorCodes, HostnetError, type ErrorCode } from "../errors.js";

export interface RequestOptions {
  /** Path of hostnetd's unix socket. */
  readonly socket: string;
  /** Give up waiting for an answer after this long. */
  readonly timeoutMs?: number;
}

/** How hostnet's own client names itself: hostnetd records the CLI, not the REST API, as a change's cause. */
export const CLIENT_AGENT = "hostnet";

/** A create converges the kernel before it answers, which can take seconds on a loaded host. */
export const defaultTimeoutMs = 120_000;

// Only for answers without a readable error body, e.g. from a proxy or an older daemon.
const codeOfStatus: Readonly<Partial<Record<number, ErrorCode>>> = {
  400: "InvalidArgument",
  404: "NotFound",
  409: "Conflict",
  503: "Unavailable",
};

const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && (errorCodes as readonly string[]).includes(code);

function answerError(status: number, text: string): HostnetError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error =
    typeof body === "object" && body !== null && "error" in body && typeof body.error === "object"
      ? (body.error as Record<string, unknown>)
      : undefined;
  const code = error?.["code"];
  const message = error?.["message"];
  const field = error?.["field"];
  if (isErrorCode(code) && typeof message === "string")
    return new HostnetError(code, message, typeof field === "string" ? { field } : {});
  const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new HostnetError(codeOfStatus[status] ?? "Internal", `hostnetd answered ${status}: ${excerpt}`);
}

function connectError(socket: string, err: NodeJS.ErrnoException): HostnetError {
  const options = { cause: err };
  if (err.code === "ENOENT" || err.code === "ECONNREFUSED")
    return new HostnetError(
      "Unavailable",
      `hostnetd is not running at ${socket}: ${err.message}`,
      { hint: "start hostnetd, or point --socket (HOSTNET_SOCKET) at its socket" },
      options,
    );
  if (err.code === "EACCES")
    return new HostnetError(
      "Unavailable",
      `cannot connect to hostnetd at ${socket}: ${err.message}`,
      { hint: "run as root or as a member of the socket's group" },
      options,
    );
  return new HostnetError(
    "Unavailable",
    `lost the connection to hostnetd at ${socket}: ${err.message}`,
    {},
    options,
  );
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    res.on("error", reject);
  });
}

/**
 * Sends `body` as JSON and resolves with the parsed JSON answer (undefined for an empty one, e.g. 204).
 * The answer is not validated here: hostnetd checks its own answers against the API schema.
 */
export function request(
  options: RequestOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const { socket } = options;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath: socket,
        method,
        path,
        headers: {
          accept: "application/json",
          "user-agent": CLIENT_AGENT,
          // Fastify rejects an empty body that claims to be JSON, so the header goes only with a body.
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
        },
      },
      (res) => {
        readBody(res).then(
          (text) => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) {
              reject(answerError(status, text));
              return;
            }
            if (text === "") {
              resolve(undefined);
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (err) {
              reject(
                new HostnetError(
                  "Internal",
                  `hostnetd answered ${method} ${path} with invalid JSON`,
                  {},
                  { cause: err },
                ),
              );
            }
          },
          (err: unknown) => {
            reject(connectError(socket, err as NodeJS.ErrnoException));
          },
        );
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy(
        new HostnetError(
          "Unavailable",
          `hostnetd at ${socket} did not answer ${method} ${path} within ${timeoutMs} ms`,
        ),
      );
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      reject(err instanceof HostnetError ? err : connectError(socket, err));
    });
    req.end(payload);
  });
}

/**
 * GETs a stream of lines (newline-delimited JSON) and hands each to `onLine` as it comes; resolves when
 * hostnetd ends the stream. Only the wait for the answer's head is bounded: a stream may be quiet for long.
 */
export function streamLines(
  options: RequestOptions,
  path: string,
  onLine: (line: string) => void,
): Promise<void> {
  const { socket } = options;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: socket, method: "GET", path, headers: { "user-agent": CLIENT_AGENT } },
      (res) => {
        clearTimeout(waiting);
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          readBody(res).then(
            (text) => {
              reject(answerError(status, text));
            },
            (err: unknown) => {
              reject(connectError(socket, err as NodeJS.ErrnoException));
            },
          );
          return;
        }
        let rest = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) if (line !== "") onLine(line);
        });
        res.on("end", () => {
          if (rest !== "") onLine(rest);
          resolve();
        });
        res.on("error", (err: NodeJS.ErrnoException) => {
          reject(connectError(socket, err));
        });
      },
    );
    const waiting = setTimeout(() => {
      req.destroy(
        new HostnetError(
          "Unavailable",
          `hostnetd at ${socket} did not answer GET ${path} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(waiting);
      reject(err instanceof HostnetError ? err : connectError(socket, err));
    });
    req.end();
  });
}
