/**
 * One HTTP app on hostnetd's unix socket: Fastify with pino logs (one JSON line per request, with its id
 * and duration), the REST routes, the CNI plugin's POST /cni and /openapi.json.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import swagger from "@fastify/swagger";

import { CniHandler } from "./cni/handler.js";
import type { HostnetService } from "../core/service.js";
import { settingsSchemas } from "../policies/index.js";
import { registerCniRoute } from "./cni/route.js";
import { errorReply } from "./rest/errors.js";
import { registerRoutes } from "./rest/routes.js";
import { registerLoadBalancerRoutes } from "./rest/load-balancers.js";

const MAX_PARAM_LENGTH = 1024;

export async function buildApp(service: HostnetService, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // A name is at most 128 characters; a namespace is also found by its path, escaped.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify's own answers to a bad URL echo it whole: say what is wrong instead, in hostnet's shape.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      void reply.code(err.statusCode ?? 400).send({
        error: {
          code: "InvalidArgument",
          message:
            err.code === "FST_ERR_MAX_PARAM_LENGTH"
              ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters`
              : "the URL is not valid",
        },
      });
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
  registerRoutes(app, service);
  registerCniRoute(app, new CniHandler(service));
  registerLoadBalancerRoutes(app, service.loadBalancers);
  app.get("/openapi.json", { schema: { hide: true } }, () => app.swagger());
  return app;
}
