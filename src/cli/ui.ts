/** `hostnet ui`: serves the live topology page (src/ui) until interrupted. */
import { defaultListen, pageUrl, parseListen } from "../ui/listen.js";
import { startUiServer } from "../ui/server.js";
import { defineCommand } from "./command.js";
import { UsageError } from "./errors.js";

/** Resolves at the first SIGINT or SIGTERM, which then no longer end the process by themselves. */
function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export const ui = defineCommand({
  names: ["ui"],
  help: "Serve a read-only page of the networks, endpoints, namespaces and load balancers, with live counters",
  options: {
    listen: {
      type: "string",
      arg: "[ADDR:]PORT",
      description: `Where to serve it (default ${defaultListen.host}:${defaultListen.port}; port 0: any free one)`,
    },
  },
  examples: ["hostnet ui", "hostnet ui --listen 127.0.0.1:0", "hostnet ui --listen [::1]:9470"],
  async run(ctx, { values }) {
    const at = values.listen === undefined ? defaultListen : parseListen(values.listen);
    if (at === undefined)
      throw new UsageError(
        `--listen "${values.listen ?? ""}" is not [ADDR:]PORT with an IP address and a port up to 65535: 9470, 127.0.0.1:9470, [::1]:9470`,
      );
    // A wrong socket or a stopped hostnetd is said now, not by a page that stays empty.
    await ctx.client.version();
    const server = await startUiServer(ctx.client.socket, at);
    const stopped = interrupted();
    ctx.out(
      `hostnet ui: ${pageUrl(server.address)} (read-only, from hostnetd at ${ctx.client.socket}; Ctrl-C stops)`,
    );
    await stopped;
    await server.close();
  },
});
