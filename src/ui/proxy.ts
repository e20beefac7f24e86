/**
 * What the page may ask hostnetd, and the one way it asks: GET on hostnetd's unix socket, its answer streamed
 * back as it comes (the event stream never ends by itself). Only these paths are forwarded, and only with
 * GET: the page can read hostnetd's state and never change it.
 */
import { request, type ServerResponse } from "node:http";

/** The user agent hostnetd sees from the page's requests. */
const UI_AGENT = "hostnet-ui";

/**
 * The hostnetd path for a page's `/api/…` path and query, or undefined when the page may not ask it. Only
 * the event stream takes a query, and only `since` (where a reconnecting page resumes).
 */
export function upstreamPath(path: string, query: URLSearchParams): string | undefined {
  if (["/api/networks", "/api/endpoints", "/api/namespaces", "/api/loadbalancers"].includes(path))
    return path.slice("/api".length);
  if (/^\/api\/endpoints\/[^/]+\/stats$/.test(path)) return path.slice("/api".length);
  if (path === "/api/events") {
    const since = query.get("since");
    return since === null ? "/events" : `/events?${new URLSearchParams({ since }).toString()}`;
  }
  return undefined;
}

/** Streams hostnetd's answer to GET `path` to `res`; 502 when hostnetd cannot be reached. */
export function forward(socket: string, path: string, res: ServerResponse): void {
  const upstream = request(
    {
      socketPath: socket,
      method: "GET",
      path,
      headers: { accept: "application/json", "user-agent": UI_AGENT },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, {
        "content-type": answer.headers["content-type"] ?? "application/json",
        "cache-control": "no-store",
      });
      // Each event is sent as it comes, not when some buffer fills.
      res.flushHeaders();
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    },
  );
  upstream.on("error", (err) => {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(502, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(
      JSON.stringify({
        error: { code: "Unavailable", message: `cannot reach hostnetd at ${socket}: ${err.message}` },
      }),
    );
  });
  // A page that leaves (or reloads) ends its event stream at hostnetd too.
  res.on("close", () => upstream.destroy());
  upstream.end();
}
