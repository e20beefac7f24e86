#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startDaemon } from "../src/daemon.js";
import { createLogger } from "../src/log.js";

const usage = `usage: hostnetd [--socket PATH] [--state-dir DIR] [--no-default-network]
                [--docker-plugin-socket PATH | --no-docker-plugin]`;

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        socket: { type: "string", default: "/run/hostnet/hostnet.sock" },
        "state-dir": { type: "string", default: "/var/lib/hostnet" },
        "no-default-network": { type: "boolean", default: false },
        "docker-plugin-socket": { type: "string", default: "/run/docker/plugins/hostnet.sock" },
        "no-docker-plugin": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`hostnetd: ${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
})();
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const log = createLogger();
try {
  const daemon = await startDaemon(
    {
      socket: values.socket,
      stateDir: values["state-dir"],
      defaultNetwork: !values["no-default-network"],
      dockerPluginSocket: values["no-docker-plugin"] ? null : values["docker-plugin-socket"],
    },
    log,
  );
  const stop = (signal: string): void => {
    log.info({ op: "shutdown", signal }, "stopping");
    void daemon.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  log.fatal({ err }, "hostnetd failed to start");
  process.exit(1);
}
