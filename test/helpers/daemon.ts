/**
 * hostnetd for a test: started from dist/ inside the test's host namespace (nsenter, so namespaces it
 * creates are visible to the test), with a temp socket, state dir and an empty configuration file (never the
 * machine's /etc/hostnet/hostnetd.json), stopped by PID. Its D-Bus system bus is the test's (or none): a
 * hostnetd under test never talks to the firewalld of the machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { run, type RunResult } from "./run.js";

/** The repository root, whether this file runs from test/ (vitest) or from dist/test/ (benchmarks). */
function repoRoot(dir: string): string {
  return existsSync(join(dir, "package.json")) ? dir : repoRoot(dirname(dir));
}

const HOSTNETD = join(repoRoot(import.meta.dirname), "dist/bin/hostnetd.js");

interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface TestDaemon {
  readonly socket: string;
  readonly stateDir: string;
  /** Holds hostnetd's Docker plugin socket, hostnet.sock. */
  readonly pluginDir: string;
  readonly pid: number;
  readonly logs: () => string;
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** api() that fails the test unless the status is 2xx; returns the body. */
  ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function apiRequest(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = httpRequest(
      {
        socketPath: socket,
        method,
        path,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (b: Buffer) => (text += b.toString()));
        res.on("end", () => {
          resolvePromise({
            status: res.statusCode ?? 0,
            body: text === "" ? null : (JSON.parse(text) as unknown),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function waitReady(
  socket: string,
  child: ChildProcess,
  logs: () => string,
  withinMs: number,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hostnetd exited ${child.exitCode}:\n${logs()}`);
    try {
      await apiRequest(socket, "GET", "/globals/version");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`hostnetd did not become ready:\n${logs()}`);
}

/** An empty configuration file in `dir`, so a hostnetd under test never reads the machine's. */
function emptyConfig(dir: string): string {
  const path = join(dir, "hostnetd.json");
  writeFileSync(path, "{}\n");
  return path;
}

/**
 * hostnetd run in `hostNs` with these arguments (and an empty configuration file) until it exits: for starts
 * that must be refused.
 */
export async function runHostnetd(
  hostNs: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-run-"));
  try {
    const argv = [process.execPath, HOSTNETD, "--config", emptyConfig(dir), ...args];
    return await run(["nsenter", `--net=/run/netns/${hostNs}`, ...argv], { timeoutMs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestDaemonOptions {
  /** How long hostnetd may take to answer: 20 s, longer under emulation (the stock-kernel lane). */
  readonly readyWithinMs?: number;
  /** Where hostnetd serves its Docker plugin socket, hostnet.sock; a directory of its own by default. */
  readonly pluginDir?: string;
  /** The D-Bus system bus hostnetd talks to (DBUS_SYSTEM_BUS_ADDRESS); none by default. */
  readonly systemBus?: string;
  /** RLIMIT_NOFILE hostnetd starts with (prlimit), to see it run short of file descriptors. */
  readonly fileLimit?: { readonly soft: number; readonly hard: number };
  /** HOSTNET_LOG_LEVEL: `debug` logs every command hostnetd runs. */
  readonly logLevel?: string;
  /** More environment for hostnetd, e.g. systemd's NOTIFY_SOCKET. */
  readonly env?: Readonly<Record<string, string>>;
  /** The command that runs hostnetd: this checkout's dist/bin/hostnetd.js unless given (an installed one). */
  readonly hostnetd?: readonly string[];
  /** Options for the Node that runs this checkout's hostnetd, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
}

export async function startDaemon(
  hostNs: string,
  extraArgs: readonly string[] = [],
  opts: TestDaemonOptions = {},
): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-test-"));
  const socket = join(dir, "hostnet.sock");
  const stateDir = join(dir, "state");
  // Docker finds plugins in this directory when a test bind-mounts it over /run/docker/plugins.
  const pluginDir = opts.pluginDir ?? join(dir, "plugins");
  const systemBus = opts.systemBus ?? `unix:path=${join(dir, "no-system-bus")}`;
  const config = emptyConfig(dir);
  let child: ChildProcess;
  let output = "";
  const logs = (): string => output;

  const kill = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await exited;
  };

  const launch = async (): Promise<void> => {
    const limit = opts.fileLimit;
    const [cmd = "nsenter", ...launcher] =
      limit === undefined
        ? ["nsenter"]
        : ["prlimit", `--nofile=${String(limit.soft)}:${String(limit.hard)}`, "nsenter"];
    child = spawn(
      cmd,
      [
        ...launcher,
        `--net=/run/netns/${hostNs}`,
        ...(opts.hostnetd ?? [process.execPath, ...(opts.nodeArgs ?? []), HOSTNETD]),
        "--config",
        config,
        "--socket",
        socket,
        "--state-dir",
        stateDir,
        "--docker-plugin-socket",
        join(pluginDir, "hostnet.sock"),
        ...extraArgs,
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          DBUS_SYSTEM_BUS_ADDRESS: systemBus,
          ...(opts.logLevel === undefined ? {} : { HOSTNET_LOG_LEVEL: opts.logLevel }),
          ...opts.env,
        },
      },
    );
    child.stdout?.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (output += b.toString()));
    // One that never became ready would outlive the test (and its namespace) otherwise.
    await waitReady(socket, child, logs, opts.readyWithinMs ?? 20_000).catch(async (e: unknown) => {
      await kill("SIGKILL");
      throw e;
    });
  };

  await launch();
  const daemon: TestDaemon = {
    socket,
    stateDir,
    pluginDir,
    get pid() {
      return child.pid ?? -1;
    },
    logs,
    api: (method, path, body) => apiRequest(socket, method, path, body),
    async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await apiRequest(socket, method, path, body);
      if (res.status < 200 || res.status > 299)
        throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body as T;
    },
    kill,
    async restart() {
      // A second process would orphan the first, which nothing would ever stop.
      if (child.exitCode === null && child.signalCode === null)
        throw new Error("hostnetd is still running: kill it before restarting it");
      await launch();
    },
    async stop() {
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}
