/**
 * The Docker plugin socket: `/Plugin.Activate`, `/NetworkDriver.*` and `/IpamDriver.*`, POSTs of JSON.
 * Errors are answered the way Docker reads them: a network-driver error in `Err`, an IPAM error in
 * `Error`, both with status 200 (a non-200 body is shown raw); an unknown method is 404, which Docker
 * takes as "not implemented". A request Docker could not have meant (not JSON) is 400.
 */
import { causeHook } from "../cause.js";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { HostnetService } from "../../core/service.js";
import type { DockerPools } from "../../ipam/docker-pools.js";
import { dockerError } from "./errors.js";
import type { HostnetMetrics } from "../../metrics/metrics.js";
import { ipamMethods } from "./ipam.js";
import {
  DockerNetworkDriver,
  type CreateEndpointRequest,
  type CreateNetworkRequest,
} from "./network-driver.js";
import { options, str, type Body, type Method } from "./wire.js";

/** What the Go plugin helpers answer with; Docker does not check it. */
const CONTENT_TYPE = "application/vnd.docker.plugins.v1+json";

function networkMethods(driver: DockerNetworkDriver): Record<string, Method> {
  return {
    GetCapabilities: () => ({ Scope: "local", ConnectivityScope: "local" }),
    CreateNetwork: (b) => driver.createNetwork(b as unknown as CreateNetworkRequest).then(() => ({})),
    DeleteNetwork: (b) => driver.deleteNetwork(str(b, "NetworkID")).then(() => ({})),
    CreateEndpoint: (b) => driver.createEndpoint(b as unknown as CreateEndpointRequest),
    DeleteEndpoint: (b) => driver.deleteEndpoint(str(b, "EndpointID")).then(() => ({})),
    EndpointOperInfo: (b) => ({ Value: driver.endpointInfo(str(b, "EndpointID")) }),
    Join: (b) => driver.join(str(b, "EndpointID"), str(b, "SandboxKey")),
    Leave: (b) => driver.leave(str(b, "EndpointID")).then(() => ({})),
    ProgramExternalConnectivity: (b) =>
      driver.programExternalConnectivity(str(b, "EndpointID"), options(b)).then(() => ({})),
    RevokeExternalConnectivity: (b) =>
      driver.revokeExternalConnectivity(str(b, "EndpointID")).then(() => ({})),
    // Swarm and discovery calls: a local-scope driver has nothing to do for them.
    AllocateNetwork: () => ({ Options: {} }),
    FreeNetwork: () => ({}),
    DiscoverNew: () => ({}),
    DiscoverDelete: () => ({}),
  };
}

export function buildDockerPlugin(
  service: HostnetService,
  pools: DockerPools,
  logger: FastifyBaseLogger,
  metrics?: Pick<HostnetMetrics, "dockerCall">,
): FastifyInstance {
  const app = Fastify({ loggerInstance: logger });
  // Docker sends JSON without a Content-Type, and Plugin.Activate with no body at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, text, done) => {
    const raw = typeof text === "string" ? text : text.toString("utf8");
    try {
      const body: unknown = raw.trim() === "" ? {} : JSON.parse(raw);
      if (typeof body !== "object" || body === null || Array.isArray(body))
        done(Object.assign(new Error("the request body must be a JSON object"), { statusCode: 400 }));
      else done(null, body);
    } catch {
      done(Object.assign(new Error("the request body is not JSON"), { statusCode: 400 }));
    }
  });
  app.addHook(
    "preHandler",
    causeHook(() => "docker"),
  );
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) =>
    reply
      .code(err.statusCode ?? 400)
      .type(CONTENT_TYPE)
      .send({ Err: err.message, Error: err.message }),
  );
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .type(CONTENT_TYPE)
      .send({ Err: `${req.url.slice(1)} is not implemented by hostnet` }),
  );

  app.post("/Plugin.Activate", (_req, reply) =>
    reply.type(CONTENT_TYPE).send({ Implements: ["NetworkDriver", "IpamDriver"] }),
  );
  const subsystems = [
    { prefix: "NetworkDriver", errorKey: "Err", methods: networkMethods(new DockerNetworkDriver(service)) },
    { prefix: "IpamDriver", errorKey: "Error", methods: ipamMethods(pools) },
  ];
  for (const { prefix, errorKey, methods } of subsystems)
    for (const [name, method] of Object.entries(methods))
      app.post(`/${prefix}.${name}`, async (req, reply) => {
        const body = (req.body ?? {}) as Body;
        try {
          const answer = (await method(body)) ?? {};
          metrics?.dockerCall(`${prefix}.${name}`, true);
          return await reply.type(CONTENT_TYPE).send(answer);
        } catch (err) {
          metrics?.dockerCall(`${prefix}.${name}`, false);
          const e = dockerError(err);
          if (e.code === "Internal") req.log.error({ err }, e.message);
          else req.log.info({ op: `${prefix}.${name}`, code: e.code }, e.message);
          return reply.type(CONTENT_TYPE).send({ [errorKey]: e.message });
        }
      });
  return app;
}
