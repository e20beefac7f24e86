#!/usr/bin/env node
// Only modules that any Node runs are imported before the version check; the rest once it passed.
import { supportedNode, versionLine } from "../src/build-info.js";
import { missingPrograms, nodeProblem } from "../src/requirements.js";

const tooOld = nodeProblem(process.versions.node, supportedNode);
if (tooOld !== undefined) {
  process.stderr.write(`hostnetd: ${tooOld}\n`);
  process.exit(1);
}

const { UsageError } = await import("../src/config/command-line.js");
const { daemonOptions } = await import("../src/config/daemon-args.js");
const { loadConfig } = await import("../src/config/load.js");
const { StartupError } = await import("../src/config/resolve.js");
const { usage } = await import("../src/config/usage.js");

const argv = process.argv.slice(2);

/** The configuration, its files read; exits on --help, --version, and on a usage or configuration error. */
function configure() {
  try {
    const loaded = loadConfig(argv, process.env);
    if ("resolved" in loaded) return { ...loaded, options: daemonOptions(loaded.args, loaded.resolved.name) };
    process.stdout.write(`${loaded.action === "help" ? usage() : versionLine("hostnetd")}\n`);
    process.exit(0);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hostnetd: ${err.message}\n${usage()}\n`);
      process.exit(2);
    }
    if (err instanceof StartupError) {
      process.stderr.write(`hostnetd: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const { action, resolved, options } = configure();
const missing = missingPrograms(process.env["PATH"] ?? "");
if (missing.length > 0) {
  process.stderr.write(`hostnetd: missing programs, install them first: ${missing.join("; ")}\n`);
  process.exit(1);
}
if (action === "check") {
  const from = resolved.file === undefined ? "flags and defaults" : resolved.file.path;
  process.stdout.write(`hostnetd: the configuration of ${from} is valid\n`);
  process.stdout.write(`${JSON.stringify(resolved.config, null, 2)}\n`);
  process.exit(0);
}

const { startDaemon } = await import("../src/daemon.js");
const { HostnetError } = await import("../src/errors.js");
const { createLogger } = await import("../src/log.js");
const { reloadOnSighup } = await import("../src/config/reload.js");
const { notifyReady } = await import("../src/systemd.js");

const log = createLogger(resolved.config.logLevel);
try {
  // Before the startup converge: SIGHUP's default action would end hostnetd.
  reloadOnSighup(argv, resolved.config, { logLevel: (level) => (log.level = level) }, log);
  const daemon = await startDaemon(options, log);
  await notifyReady(`serving ${options.socket}`).catch((err: unknown) => {
    log.warn({ op: "notify", err }, "could not tell systemd that hostnetd is ready");
  });
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
