/**
 * Running one plugin as libcni (containernetworking/cni v1.3.0) runs it through pkg/invoke: found in the
 * plugin directories (FindInPath), given the CNI_* environment (invoke.Args), executed with its config on
 * stdin (RawExec), its failure decoded as a CNI error, its result typed by version (ExecPluginWithResult),
 * and asked for the spec versions it supports (GetVersionInfo).
 *
 * Unlike libcni, every exec has a timeout, and a "text file busy" exec is retried with a fresh process.
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createResult, type Result } from "./convert.js";
import { CniError, message } from "./errors.js";
import { field, goString, isObj, jsonKind, record, str, strs, typeError, type Obj } from "./go-json.js";
import { CURRENT_VERSION } from "./version.js";

/** The arguments of one invocation (libcni.RuntimeConf). */
export interface RuntimeConf {
  readonly containerId: string;
  /** The container's network namespace path, e.g. /run/netns/c1. */
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS as key/value pairs. */
  readonly args?: readonly (readonly [string, string])[];
  /** Capability arguments; a plugin gets those it declares in `capabilities` as `runtimeConfig`. */
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

export interface ExecOptions {
  /** Directories searched for plugin binaries, in order; also CNI_PATH. */
  readonly pluginDirs: readonly string[];
  /** Runs each plugin via `nsenter --net=/run/netns/<hostNs>`. */
  readonly hostNs?: string;
  /** Extra environment for the plugins, on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Per plugin exec; default 30 s. */
  readonly timeoutMs?: number;
  /** Receives what a successful plugin wrote to stderr; default: this process's stderr, as libcni does. */
  readonly onStderr?: (text: string, plugin: string, command: string) => void;
}

/** The six CNI_* variables (invoke.Args). */
interface CniEnv {
  readonly command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";
  readonly containerId: string;
  readonly netns: string;
  readonly args: string;
  readonly ifName: string;
  readonly path: string;
}

interface Exited {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly spawnError: Error | undefined;
  readonly timedOut: boolean;
}

const SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: "killed",
  SIGTERM: "terminated",
  SIGSEGV: "segmentation fault",
  SIGABRT: "aborted",
  SIGINT: "interrupt",
};

/** ExecPluginWithResult after the exec: the result's version (the config's when it has none), typed. */
function parseResult(confVersion: string, stdout: string): Result {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`failed to unmarshal raw result: ${message(err)}`, { cause: err });
  }
  if (raw !== null && !isObj(raw))
    throw new Error(
      `failed to unmarshal raw result: json: cannot unmarshal ${jsonKind(raw)} into Go value of type ` +
        "map[string]interface {}",
    );
  const o: Obj = raw ?? {};
  const v = o["cniVersion"];
  const version = typeof v === "string" && v !== "" ? v : confVersion === "" ? "0.1.0" : confVersion;
  return createResult(version, { ...o, cniVersion: version });
}

/** Finds and runs plugins, as pkg/invoke does for CNIConfig. */
export class PluginExec {
  private readonly opts: ExecOptions;

  constructor(opts: ExecOptions) {
    this.opts = opts;
  }

  private get cniPath(): string {
    return this.opts.pluginDirs.join(":");
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 30_000;
  }

  /** CNIConfig.args: the environment of one command on one attachment. */
  env(command: CniEnv["command"], rt: RuntimeConf): CniEnv {
    const args = (rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(";");
    return {
      command,
      containerId: rt.containerId,
      netns: rt.netns,
      args,
      ifName: rt.ifName,
      path: this.cniPath,
    };
  }

  /** GC and STATUS run with an empty RuntimeConf. */
  bareEnv(command: "GC" | "STATUS"): CniEnv {
    return { command, containerId: "", netns: "", args: "", ifName: "", path: this.cniPath };
  }

  /** FindInPath: the first regular file `<dir>/<type>` in pluginDirs. */
  async findInPath(plugin: string): Promise<string> {
    if (plugin === "") throw new Error("no plugin name provided");
    if (plugin.includes("/")) throw new Error(`invalid plugin name: ${plugin}`);
    if (this.opts.pluginDirs.length === 0) throw new Error("no paths provided");
    for (const dir of this.opts.pluginDirs) {
      const full = join(dir, plugin);
      const st = await stat(full).catch(() => undefined);
      if (st?.isFile() === true) return full;
    }
    throw new Error(
      `failed to find plugin ${JSON.stringify(plugin)} in path [${this.opts.pluginDirs.join(" ")}]`,
    );
  }

  /** ExecPluginWithResult: runs the plugin and types its result by version. */
  async execWithResult(
    plugin: string,
    path: string,
    stdin: string,
    env: CniEnv,
    confVersion: string,
  ): Promise<Result> {
    return parseResult(confVersion, await this.exec(plugin, path, stdin, env));
  }

  /** GetVersionInfo: the spec versions a plugin reports through VERSION. */
  async versionInfo(pluginType: string): Promise<string[]> {
    const path = await this.findInPath(pluginType);
    // Fake values for plugins built against an old skel, which required them.
    const env: CniEnv = {
      command: "VERSION",
      containerId: "",
      netns: "dummy",
      args: "",
      ifName: "dummy",
      path: "dummy",
    };
    let stdout: string;
    try {
      stdout = await this.exec(pluginType, path, `{"cniVersion":${goString(CURRENT_VERSION)}}`, env);
    } catch (err) {
      if (err instanceof CniError && err.message === "unknown CNI_COMMAND: VERSION") return ["0.1.0"];
      throw err;
    }
    let cniVersion: string;
    let supported: string[];
    try {
      const info = record(JSON.parse(stdout), "pluginInfo", "version.pluginInfo");
      cniVersion = str(field(info, "cniVersion"), "pluginInfo.cniVersion");
      supported = strs(field(info, "supportedVersions"), "pluginInfo.supportedVersions");
    } catch (err) {
      throw new Error(`decoding version info: ${message(err)}`, { cause: err });
    }
    if (cniVersion === "") throw new Error("decoding version info: missing field cniVersion");
    if (supported.length > 0) return supported;
    if (cniVersion === "0.2.0") return ["0.1.0", "0.2.0"];
    throw new Error("decoding version info: missing field supportedVersions");
  }

  /** RawExec.ExecPlugin: stdout on exit 0; otherwise a CniError decoded as libcni's pluginErr does. */
  async exec(plugin: string, path: string, stdin: string, env: CniEnv): Promise<string> {
    const busy = (x: Exited): boolean =>
      x.stdout === "" && /text file busy/i.test(`${x.spawnError?.message ?? ""}${x.stderr}`);
    let r = await this.spawnOnce(path, stdin, env);
    for (let i = 0; i < 5 && busy(r); i++) {
      await sleep(1000);
      r = await this.spawnOnce(path, stdin, env);
    }
    if (r.spawnError === undefined && r.exitCode === 0) {
      if (r.stderr !== "")
        (this.opts.onStderr ?? ((text) => process.stderr.write(text)))(r.stderr, plugin, env.command);
      return r.stdout;
    }
    const why =
      r.spawnError?.message ??
      (r.signal !== null
        ? `signal: ${SIGNAL_TEXT[r.signal] ?? r.signal}`
        : `exit status ${String(r.exitCode)}`);
    // libcni has no timeout of its own: say when ours killed the plugin.
    const timedOut = r.timedOut ? ` (timed out after ${this.timeoutMs} ms)` : "";
    const base = { exitCode: r.exitCode, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
    if (r.stdout === "") {
      // v1.3.0 reports the stderr alone; the exit status joined it only after that release.
      const msg =
        r.stderr === ""
          ? `netplugin failed with no error message: ${why}${timedOut}`
          : `netplugin failed: ${JSON.stringify(r.stderr)}${timedOut}`;
      throw new CniError({ ...base, code: 0, msg });
    }
    let code: number;
    let msg: string;
    let details: string;
    try {
      const e = record(JSON.parse(r.stdout), "Error", "types.Error");
      const c = field(e, "code") ?? 0;
      if (typeof c !== "number" || !Number.isInteger(c) || c < 0) throw typeError(c, "Error.code", "uint");
      code = c;
      msg = str(field(e, "msg"), "Error.msg");
      details = str(field(e, "details"), "Error.details");
    } catch (err) {
      const text = `netplugin failed but error parsing its diagnostic message ${JSON.stringify(r.stdout)}`;
      throw new CniError({ ...base, code: 0, msg: `${text}: ${message(err)}` });
    }
    throw new CniError({ ...base, code, msg, ...(details === "" ? {} : { details }) });
  }

  private spawnOnce(path: string, stdin: string, env: CniEnv): Promise<Exited> {
    const [cmd, args] =
      this.opts.hostNs === undefined
        ? [path, []]
        : ["nsenter", [`--net=/run/netns/${this.opts.hostNs}`, path]];
    return new Promise((resolve) => {
      const started = performance.now();
      const child = spawn(cmd, args, {
        stdio: ["pipe", "pipe", "pipe"],
        timeout: this.timeoutMs,
        killSignal: "SIGKILL",
        env: {
          ...process.env,
          ...this.opts.env,
          CNI_COMMAND: env.command,
          CNI_CONTAINERID: env.containerId,
          CNI_NETNS: env.netns,
          CNI_ARGS: env.args,
          CNI_IFNAME: env.ifName,
          CNI_PATH: env.path,
        },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let spawnError: Error | undefined;
      let settled = false;
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        resolve({
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          exitCode,
          signal,
          spawnError,
          timedOut: signal === "SIGKILL" && performance.now() - started >= this.timeoutMs,
        });
      };
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) => {
        spawnError ??= e;
        // It never started: there may be no "close" to wait for.
        if (child.pid === undefined) finish(null, null);
      });
      child.on("close", finish);
      child.stdin.on("error", () => undefined);
      child.stdin.end(stdin);
    });
  }
}
