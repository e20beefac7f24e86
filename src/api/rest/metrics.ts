/**
 * GET /metrics in Prometheus' text format, and the count and duration of every request the API answers,
 * labelled by its route's template (`/endpoints/:id`), not its URL, so that names do not make new series.
 */
import type { FastifyInstance } from "fastify";
import type { HostnetMetrics } from "../../metrics/metrics.js";

export function registerMetrics(app: FastifyInstance, metrics: HostnetMetrics): void {
  app.addHook("onResponse", (req, reply, done) => {
    metrics.request(
      req.routeOptions.url ?? "unmatched",
      req.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.get(
    "/metrics",
    { schema: { description: "Prometheus metrics (docs/metrics.md)" } },
    async (_req, reply) => {
      const { text, contentType } = await metrics.scrape();
      return reply.type(contentType).send(text);
    },
  );
}
