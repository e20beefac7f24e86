/**
 * One HTTP app on hostnetd's unix socket: Fastify with pino logs (one JSON line per request, with its id
 * and duration), the REST routes, the event stream, the CNI plugin's POST /cni and /openapi.json.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import swagger from "@fastify/swagger";

import { CLIENT_AGENT } from "../client/request.js";
import { causeHook } from "./cause.js";
import { CniHandler } from "./cni/handler.js";
import type { HostnetService } from "../core/service.js";
import { settingsSchemas } from "../policies/index.js";
import { registerCniRoute } from "./cni/route.js";
import { errorReply } from "./rest/errors.js";
import { HostnetError } from "../errors.js";
import { registerInfoRoute, type InfoSource } from "./rest/info.js";
import { registerRoutes } from "./rest/routes.js";
import { registerGlobalRoutes } from "./rest/globals.js";
import { registerLoadBalancerRoutes } from "./rest/load-balancers.js";
import { registerMetrics } from "./rest/metrics.js";
import { registerEventRoute } from "./rest/events.js";
import { registerTraceRoute } from "./rest/trace.js";
import type { HostnetMetrics } from "../metrics/metrics.js";

const MAX_PARAM_LENGTH = 1024;

/**
 * A connection refused before its request was read may go on sending (the rest of its body) for as long as
 * it does not pause for LINGER_IDLE_MS, and LINGER_MAX_MS at most: a busy client finishes its write and reads
 * the answer, an idle or endless one is cut.
 */
const LINGER_IDLE_MS = 2000;
const LINGER_MAX_MS = 30_000;
const answered = new WeakSet<Socket>();

/**
 * A request Node cannot parse (headers over its limit, a malformed request line) is answered in hostnet's
 * shape, and the connection half-closed while what the client still sends is read and dropped: closing it at
 * once (Fastify's way) resets it, and a client still writing its body loses the answer to EPIPE.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket, log: FastifyBaseLogger): void {
  // What the client goes on sending fails to parse again: it is answered once.
  if (err.code === "ECONNRESET" || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const [status, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "the request line and headers are longer than hostnetd reads"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "the request was not sent in time"]
        : [400, "the request is not valid HTTP"];
  log.info(
    { res: { statusCode: status }, reason: err.code },
    `request refused before it was read: ${message}`,
  );
  const body = JSON.stringify(errorReply(new HostnetError("InvalidArgument", message)).body);
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${String(status)} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.resume();
  socket.setTimeout(LINGER_IDLE_MS, () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MAX_MS).unref();
}

/**
 * `info` answers GET /info, `metrics` GET /metrics and counts requests; without them (tests of other
 * routes) there are no such routes.
 */
export async function buildApp(
  service: HostnetService,
  logger: FastifyBaseLogger,
  info?: InfoSource,
  metrics?: HostnetMetrics,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // A name is at most 128 characters; a namespace is also found by its path, escaped.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: (err, socket) => {
      answerClientError(err, socket, logger);
    },
    // Fastify's own answers to a bad URL echo it whole: say what is wrong instead, in hostnet's shape.
    // Fastify logs no completion for these: the line says what was answered.
    frameworkErrors: (err, req, reply: FastifyReply) => {
      const status = err.statusCode ?? 400;
      const message =
        err.code === "FST_ERR_MAX_PARAM_LENGTH"
          ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters`
          : "the URL is not valid";
      req.log.info(
        { res: { statusCode: status }, reason: err.code },
        `request refused before routing: ${message}`,
      );
      void reply.code(status).send({ error: { code: "InvalidArgument", message } });
    },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "hostnet",
        version: "0.1.0",
        description: "HNS-shaped API of hostnetd: networks, endpoints and namespaces",
      },
      components: { schemas: settingsSchemas },
    },
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorReply(err);
    if (status >= 500) req.log.error({ err }, body.error.message);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: "NotFound", message: `no route ${req.method} ${req.url}` } }),
  );
  app.addHook(
    "preHandler",
    causeHook((req) => (req.headers["user-agent"] === CLIENT_AGENT ? "cli" : "rest")),
  );
  if (metrics !== undefined) registerMetrics(app, metrics);
  registerRoutes(app, service);
  registerEventRoute(app, service.events);
  registerTraceRoute(app, service);
  registerGlobalRoutes(app);
  registerCniRoute(app, new CniHandler(service), metrics);
  registerLoadBalancerRoutes(app, service.loadBalancers);
  if (info !== undefined) registerInfoRoute(app, service, info);
  app.get("/openapi.json", { schema: { hide: true } }, () => app.swagger());
  return app;
}
