/**
 * POST /cni: one CNI plugin call relayed by `hostnet-cni`. The answer is always 200 when hostnetd handled
 * the call: the body is what the plugin prints on stdout and `Hostnet-Cni-Exit` its exit status, so that
 * the shim stays a dumb pipe.
 */
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { withCause } from "../../core/cause.js";
import type { CniHandler } from "./handler.js";
import type { HostnetMetrics } from "../../metrics/metrics.js";

const EXIT_HEADER = "hostnet-cni-exit";

const CniCall = Type.Object({
  env: Type.Record(Type.String(), Type.String(), {
    description: "The plugin's CNI_* environment variables",
  }),
  stdin: Type.String({ description: "The network configuration the runtime gave the plugin" }),
});

export function registerCniRoute(
  app: FastifyInstance,
  handler: CniHandler,
  metrics?: Pick<HostnetMetrics, "cniCall">,
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    "/cni",
    // The plugin accepts 16 MiB of configuration, which JSON escaping may make up to six times larger.
    { schema: { body: CniCall, description: "A CNI plugin call (see docs/cni.md)" }, bodyLimit: 100 << 20 },
    async (req, reply) => {
      const { env, stdin } = req.body;
      const { exitCode, stdout } = await withCause("cni", () => handler.handle(env, stdin));
      metrics?.cniCall(req.body.env["CNI_COMMAND"] ?? "none", exitCode === 0);
      return reply.header(EXIT_HEADER, String(exitCode)).type("application/json").send(stdout);
    },
  );
}
