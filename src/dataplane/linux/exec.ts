/**
 * The only door to processes (spawner.ts runs these same calls from a process of its own): argv arrays
 * (never a shell), a timeout on every call, stdin for batch input, and a typed error carrying argv, exit
 * code and stderr.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { Logger } from "pino";

export class KernelCommandError extends Error {
  override readonly name = "KernelCommandError";
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly input?: string,
  ) {
    super(`${argv.join(" ")} failed (exit ${exitCode ?? "signal"}): ${stderr.trim()}`);
  }
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface Runner {
  run(argv: readonly string[], input?: string): Promise<ExecResult>;
}

const TIMEOUT_MS = 30_000;
/** Batch input goes in pieces this long: megabytes of it (a load balancer's elements) do not hold the event loop. */
const INPUT_CHUNK = 64 * 1024;

const pieces = (text: string): string[] =>
  Array.from({ length: Math.ceil(text.length / INPUT_CHUNK) }, (_, i) =>
    text.slice(i * INPUT_CHUNK, (i + 1) * INPUT_CHUNK),
  );

export const processRunner: Runner = {
  run(argv, input) {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return Promise.reject(new Error("empty argv"));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: TIMEOUT_MS });
      // First: a spawn that fails for want of file descriptors (EMFILE) has no pipes, and its 'error' comes later.
      child.on("error", reject);
      if (child.pid === undefined) return;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("close", (code) => {
        const stdout = Buffer.concat(out).toString();
        const stderr = Buffer.concat(err).toString();
        if (code === 0) resolve({ stdout, stderr });
        else reject(new KernelCommandError(argv, code, stderr, input));
      });
      child.stdin.on("error", () => undefined);
      Readable.from(pieces(input ?? "")).pipe(child.stdin);
    });
  },
};

/**
 * Logs every command at debug level (HOSTNET_LOG_LEVEL=debug) before it runs: what hostnetd spawns, and in
 * which namespaces, is then countable from its log.
 */
export const loggedRunner = (runner: Runner, log: Pick<Logger, "debug">): Runner => ({
  run(argv, input) {
    log.debug({ op: "exec", argv }, "run");
    return runner.run(argv, input);
  },
});

/** The tool a command runs, past `nsenter` and its options: `ip`, `nft`, `tc`, ... */
export function toolOf(argv: readonly string[]): string {
  const [first = "", ...rest] = argv;
  return first === "nsenter" ? toolOf(rest.filter((a) => !a.startsWith("-"))) : first;
}

/** Hears of each run of a command: which tool, how long it took, whether it succeeded. */
export type CommandRecorder = (tool: string, seconds: number, ok: boolean) => void;

/** Tells `record` of each run. */
export const measuredRunner = (runner: Runner, record: CommandRecorder): Runner => ({
  async run(argv, input) {
    const started = performance.now();
    let ok = false;
    try {
      const result = await runner.run(argv, input);
      ok = true;
      return result;
    } finally {
      record(toolOf(argv), (performance.now() - started) / 1000, ok);
    }
  },
});

/** A process that keeps running until stopped, such as a DHCP client. */
export interface Daemonised {
  stop(): void;
}

/** Starts `argv` with its stdout read line by line; `onExit` tells of an end nobody asked for. */
export function startDaemonised(
  argv: readonly string[],
  onLine: (line: string) => void,
  onExit: (why: string) => void,
): Daemonised {
  const [cmd = "", ...args] = argv;
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
  let stopped = false;
  child.on("error", (err) => onExit(err.message));
  // Without a pid (EMFILE, ENOENT) there is no stdout; the 'error' above tells of it.
  if (child.pid !== undefined) createInterface({ input: child.stdout }).on("line", onLine);
  child.on("exit", (code, signal) => {
    if (!stopped) onExit(signal ?? `exit ${String(code)}`);
  });
  return {
    stop() {
      stopped = true;
      child.kill("SIGTERM");
    },
  };
}
