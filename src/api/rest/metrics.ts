/**
 * GET /metrics in Prometheus' text format, and the count and duration of every request the API answers,
 * labelled by its route's template (`/endpoints/:id`), not its URL, so that names do not make new series.
 */
import type { FastifyInstance } from "fastify";
import type { HostnetMetrics } from "../../metrics/metrics.js";

export function registerMetrics(app: FastifyInstance, metrics: HostnetMetrics): void {
  // Counted when the response closes, not in onResponse, which a hijacked reply (GET /events) never reaches.
  app.addHook("onRequest", (req, reply, done) => {
    reply.raw.once("close", () => {
      metrics.request(
        req.routeOptions.url ?? "unmatched",
        req.method,
        reply.raw.statusCode,
        reply.elapsedTime / 1000,
      );
    });
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
