/**
 * hostnetd --metrics-listen: GET /metrics over TCP for a scraper that cannot reach the unix socket. Only
 * the metrics: the API stays on the socket, whose file mode says who may change the network.
 */
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { HostnetMetrics } from "./metrics.js";

export async function serveMetrics(
  metrics: HostnetMetrics,
  at: { readonly host: string; readonly port: number },
  log: FastifyBaseLogger,
): Promise<{ close(): Promise<void> }> {
  const app = Fastify({ loggerInstance: log.child({ component: "metrics" }) });
  // A scrape every few seconds would fill the log with nothing new.
  app.get("/metrics", { logLevel: "warn" }, async (_req, reply) => {
    const { text, contentType } = await metrics.scrape();
    return reply.type(contentType).send(text);
  });
  await app.listen({ host: at.host, port: at.port });
  return { close: () => app.close() };
}
