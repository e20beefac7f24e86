/**
 * Runs a CNI network configuration list the way libcni (containernetworking/cni, libcni/api.go) does, for
 * tests and benchmarks: one exec per plugin with the CNI_* environment and the plugin's configuration on
 * stdin (`name` and `cniVersion` injected from the list, `runtimeConfig` holding only the capabilities the
 * plugin declares, `prevResult` chained on ADD and the cached final result on CHECK and on DEL from 0.4.0),
 * ADD in order and DEL in reverse, the final result cached as cniCacheV1, CHECK from 0.4.0 and STATUS and
 * GC from 1.1.0.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";

export interface RuntimeConf {
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  readonly args?: readonly (readonly [string, string])[];
  readonly capabilityArgs?: Readonly<Record<string, unknown>>;
}

export interface NetworkConfigList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Readonly<Record<string, unknown>>[];
  readonly disableCheck?: boolean;
  readonly disableGC?: boolean;
}

export interface LibCniOptions {
  readonly pluginDirs: readonly string[];
  readonly cacheDir: string;
  /** Runs each plugin inside this named network namespace (nsenter), as a runtime in that host would. */
  readonly hostNs?: string;
}

export class CniError extends Error {
  override readonly name = "CniError";
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details: string | undefined,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`CNI error ${code}: ${msg}${details === undefined ? "" : ` (${details})`}`);
  }
}

type Json = Record<string, unknown>;
type Command = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION";

const parts = (v: string): number[] => v.split(".").map((n) => Number.parseInt(n, 10) || 0);
export function versionAtLeast(version: string, min: string): boolean {
  const [a, b] = [parts(version), parts(min)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export class LibCni {
  constructor(private readonly opts: LibCniOptions) {}

  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<Json> {
    let prev: Json | undefined;
    for (const plugin of list.plugins) prev = await this.exec("ADD", list, plugin, rt, prev);
    const result = prev ?? {};
    this.writeCache(list, rt, result);
    return result;
  }

  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    if (!versionAtLeast(list.cniVersion, "0.4.0"))
      throw new Error(`configuration version "${list.cniVersion}" does not support the CHECK command`);
    if (list.disableCheck === true) return;
    const cached = this.cachedResult(list, rt);
    if (cached === undefined) throw new Error(`no cached result for ${rt.containerId}/${rt.ifName}`);
    for (const plugin of list.plugins) await this.exec("CHECK", list, plugin, rt, cached);
  }

  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    const cached = versionAtLeast(list.cniVersion, "0.4.0") ? this.cachedResult(list, rt) : undefined;
    for (const plugin of [...list.plugins].reverse()) await this.exec("DEL", list, plugin, rt, cached);
    rmSync(this.cachePath(list, rt), { force: true });
  }

  async getStatusNetworkList(list: NetworkConfigList): Promise<void> {
    if (!versionAtLeast(list.cniVersion, "1.1.0")) return;
    for (const plugin of list.plugins) await this.exec("STATUS", list, plugin, undefined, undefined);
  }

  /** Every plugin runs even when one fails; the errors are thrown together at the end. */
  async gcNetworkList(
    list: NetworkConfigList,
    valid: readonly { containerID: string; ifname: string }[],
  ): Promise<void> {
    if (!versionAtLeast(list.cniVersion, "1.1.0") || list.disableGC === true) return;
    const errors: unknown[] = [];
    for (const plugin of list.plugins)
      await this.exec(
        "GC",
        list,
        { ...plugin, "cni.dev/valid-attachments": valid },
        undefined,
        undefined,
      ).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, "GC failed");
  }

  /** VERSION of every plugin; the list's version must be one each supports. */
  async validateNetworkList(list: NetworkConfigList): Promise<void> {
    for (const plugin of list.plugins) {
      const answer = await this.exec(
        "VERSION",
        list,
        { cniVersion: list.cniVersion },
        undefined,
        undefined,
        true,
      );
      const supported = (answer["supportedVersions"] ?? []) as string[];
      if (!supported.includes(list.cniVersion))
        throw new Error(`plugin ${String(plugin["type"])} does not support version ${list.cniVersion}`);
    }
  }

  private async exec(
    command: Command,
    list: NetworkConfigList,
    plugin: Readonly<Record<string, unknown>>,
    rt: RuntimeConf | undefined,
    prevResult: Json | undefined,
    raw = false,
  ): Promise<Json> {
    const type = String(plugin["type"] ?? list.plugins[0]?.["type"]);
    const binary = this.opts.pluginDirs.map((d) => join(d, type)).find((p) => existsSync(p));
    if (binary === undefined)
      throw new Error(`failed to find plugin "${type}" in ${this.opts.pluginDirs.join(":")}`);
    const config = raw ? plugin : this.pluginConfig(list, plugin, rt, prevResult);
    const env = [
      `CNI_COMMAND=${command}`,
      `CNI_PATH=${this.opts.pluginDirs.join(":")}`,
      ...(rt === undefined
        ? []
        : [
            `CNI_CONTAINERID=${rt.containerId}`,
            `CNI_NETNS=${rt.netns}`,
            `CNI_IFNAME=${rt.ifName}`,
            `CNI_ARGS=${(rt.args ?? []).map(([k, v]) => `${k}=${v}`).join(";")}`,
          ]),
    ];
    const ns = this.opts.hostNs === undefined ? [] : ["nsenter", `--net=/run/netns/${this.opts.hostNs}`];
    const r = await run(["env", ...env, ...ns, binary], { input: JSON.stringify(config), timeoutMs: 60_000 });
    if (r.code !== 0) {
      let e: Json;
      try {
        e = JSON.parse(r.stdout) as Json;
      } catch {
        e = { code: 999, msg: r.stdout || r.stderr };
      }
      const details = typeof e["details"] === "string" ? e["details"] : undefined;
      throw new CniError(
        Number(e["code"] ?? 999),
        typeof e["msg"] === "string" ? e["msg"] : JSON.stringify(e["msg"]),
        details,
        r.code,
        r.stderr,
      );
    }
    return r.stdout.trim() === "" ? {} : (JSON.parse(r.stdout) as Json);
  }

  private pluginConfig(
    list: NetworkConfigList,
    plugin: Readonly<Record<string, unknown>>,
    rt: RuntimeConf | undefined,
    prevResult: Json | undefined,
  ): Json {
    const declared = (plugin["capabilities"] ?? {}) as Record<string, boolean>;
    const runtimeConfig = Object.fromEntries(
      Object.entries(rt?.capabilityArgs ?? {}).filter(([name]) => declared[name] === true),
    );
    return {
      ...plugin,
      name: list.name,
      cniVersion: list.cniVersion,
      ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
      ...(prevResult === undefined ? {} : { prevResult }),
    };
  }

  private cachePath(list: NetworkConfigList, rt: RuntimeConf): string {
    return join(this.opts.cacheDir, "results", `${list.name}-${rt.containerId}-${rt.ifName}`);
  }

  private writeCache(list: NetworkConfigList, rt: RuntimeConf, result: Json): void {
    mkdirSync(join(this.opts.cacheDir, "results"), { recursive: true });
    const entry = {
      kind: "cniCacheV1",
      containerId: rt.containerId,
      config: Buffer.from(JSON.stringify(list)).toString("base64"),
      ifName: rt.ifName,
      networkName: list.name,
      netns: rt.netns,
      cniArgs: rt.args ?? [],
      capabilityArgs: rt.capabilityArgs ?? {},
      result,
    };
    writeFileSync(this.cachePath(list, rt), JSON.stringify(entry));
  }

  private cachedResult(list: NetworkConfigList, rt: RuntimeConf): Json | undefined {
    const path = this.cachePath(list, rt);
    if (!existsSync(path)) return undefined;
    return (JSON.parse(readFileSync(path, "utf8")) as { result: Json }).result;
  }
}
