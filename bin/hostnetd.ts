#!/usr/bin/env node
import { startDaemon, type DaemonOptions } from "../src/daemon.js";
import {
  DAEMON_USAGE,
  daemonOptions,
  parseDaemonArgs,
  StartupError,
  UsageError,
} from "../src/daemon-options.js";
import { HostnetError } from "../src/errors.js";
import { createLogger } from "../src/log.js";

function options(): DaemonOptions {
  try {
    const args = parseDaemonArgs(process.argv.slice(2));
    if (args === "help") {
      process.stdout.write(`${DAEMON_USAGE}\n`);
      process.exit(0);
    }
    return daemonOptions(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hostnetd: ${err.message}\n${DAEMON_USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof StartupError) {
      process.stderr.write(`hostnetd: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
const opts = options();

const log = createLogger();
try {
  const daemon = await startDaemon(opts, log);
  const stop = (signal: string): void => {
    log.info({ op: "shutdown", signal }, "stopping");
    void daemon.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  log.fatal({ err }, "hostnetd failed to start");
  // A refusal (another hostnetd, say) is for whoever started this one to read, not only the log.
  if (err instanceof HostnetError) process.stderr.write(`hostnetd: ${err.message}\n`);
  process.exit(1);
}
