/**
 * `hostnet ui`'s HTTP server: the page (built into dist/ui by `npm run build`) and, under /api/, the few
 * read-only GETs of hostnetd's API the page needs (proxy.ts), sent to hostnetd's unix socket as the CLI sends
 * its own. It holds no state of its own: every answer is hostnetd's.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP, type AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HostnetError } from "../errors.js";
import { isLoopback, type ListenAddress } from "./listen.js";
import { forward, upstreamPath } from "./proxy.js";

/** The built page: dist/ui beside dist/src, where this module is built to (dist/src/ui). */
const builtPage = fileURLToPath(new URL("../../ui/", import.meta.url));

const pageFiles = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
} as const;
type PagePath = keyof typeof pageFiles;
const isPagePath = (path: string): path is PagePath => Object.hasOwn(pageFiles, path);

/** The page's files as built, read once. */
function readPage(pageDir: string): Record<PagePath, Buffer> {
  try {
    const read = (path: PagePath): Buffer => readFileSync(join(pageDir, pageFiles[path].file));
    return { "/": read("/"), "/app.js": read("/app.js"), "/app.css": read("/app.css") };
  } catch (err) {
    throw new HostnetError(
      "Unavailable",
      `the page is not built in ${pageDir}`,
      { hint: "run npm run build" },
      { cause: err },
    );
  }
}

/**
 * The page loads only its own script and style, and talks only to this server; no frame may hold it. Inline
 * styles are allowed: cytoscape adds a style element of its own to the page (scripts stay 'self' only).
 */
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * On loopback, only a Host header naming loopback is served: a web page elsewhere that rebinds its own name
 * to 127.0.0.1 (DNS rebinding) would otherwise read hostnetd's state through this server.
 */
function hostAllowed(req: IncomingMessage, listening: ListenAddress): boolean {
  if (!isLoopback(listening.host)) return true;
  const header = req.headers.host;
  if (header === undefined) return false;
  const name = header.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || (isIP(name) !== 0 && isLoopback(name));
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...securityHeaders });
  res.end(`${message}\n`);
}

export interface UiServer {
  /** Where it listens, the port the kernel picked included. */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/**
 * Serves the page on `at`, reading from hostnetd at `socket`; resolves once it listens.
 * @param pageDir where the built page is (tests that run from src/ give their own)
 */
export async function startUiServer(
  socket: string,
  at: ListenAddress,
  pageDir = builtPage,
): Promise<UiServer> {
  const page = readPage(pageDir);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://ui");
    if (!hostAllowed(req, at)) {
      refuse(res, 421, "this page is served only to loopback names (localhost, 127.0.0.1, [::1])");
      return;
    }
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      refuse(res, 405, "the page is read-only: GET only");
      return;
    }
    if (isPagePath(url.pathname)) {
      res.writeHead(200, {
        "content-type": pageFiles[url.pathname].type,
        "cache-control": "no-cache",
        ...securityHeaders,
      });
      res.end(page[url.pathname]);
      return;
    }
    const upstream = upstreamPath(url.pathname, url.searchParams);
    if (upstream === undefined) {
      refuse(res, 404, `no such page: ${url.pathname}`);
      return;
    }
    forward(socket, upstream, res);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new HostnetError(
      "Unavailable",
      `cannot listen on ${at.host} port ${at.port}: ${err instanceof Error ? err.message : String(err)}`,
      {},
      { cause: err },
    );
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: at.host, port: bound.port },
    close: () =>
      new Promise((resolve) => {
        // Open event streams would hold close() until the browser left.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
