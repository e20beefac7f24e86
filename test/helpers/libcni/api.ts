/**
 * libcni's CNIConfig (containernetworking/cni v1.3.0, libcni/api.go): each plugin's stdin built from the
 * list and the runtime's arguments, and the ADD, CHECK, DEL, GC, STATUS and VERSION orchestration over a
 * configuration list.
 */
import { ResultCache, type NetworkAttachment } from "./cache.js";
import { resultJson, resultObject, type Result } from "./convert.js";
import { wrap } from "./errors.js";
import { marshal, struct, type Obj } from "./go-json.js";
import { PluginExec, type ExecOptions, type RuntimeConf } from "./invoke.js";
import {
  describePlugin,
  parseList,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
  type ListInput,
  type ParsedList,
  type Plugin,
} from "./parse.js";
import { versionAtLeast, versionAtLeastOrFalse } from "./version.js";

interface LibCniOptions extends ExecOptions {
  /** Holds results/<network>-<containerID>-<ifName>; libcni's default is /var/lib/cni. */
  readonly cacheDir: string;
}

interface GcAttachment {
  readonly containerID: string;
  readonly ifname: string;
}

/** buildOneConfig: the plugin's stdin. */
function buildOneConfig(
  l: ParsedList,
  plugin: Plugin,
  prevResult: Result | undefined,
  rt: RuntimeConf,
): string {
  const conf: Obj = { ...plugin.conf, name: l.name, cniVersion: l.cniVersion };
  if (prevResult !== undefined) conf["prevResult"] = resultJson(prevResult);
  const runtimeConfig: Obj = {};
  const args = rt.capabilityArgs ?? {};
  for (const [cap, supported] of Object.entries(plugin.capabilities))
    if (supported && Object.hasOwn(args, cap)) runtimeConfig[cap] = args[cap];
  if (Object.keys(runtimeConfig).length === 0) return marshal(conf);
  // A second InjectConf decodes the first one's bytes into a map: every key comes out sorted.
  return marshal({ ...(JSON.parse(marshal(conf)) as Obj), runtimeConfig });
}

export class LibCni {
  private readonly invoke: PluginExec;
  private readonly cache: ResultCache;

  constructor(opts: LibCniOptions) {
    this.invoke = new PluginExec(opts);
    this.cache = new ResultCache(opts.cacheDir);
  }

  // -- the chain ------------------------------------------------------------------------------------------

  /** AddNetworkList: ADD on each plugin in order; caches and returns the final result. */
  async addNetworkList(input: ListInput, rt: RuntimeConf): Promise<Record<string, unknown>> {
    const l = parseList(input);
    let result: Result | undefined;
    for (const plugin of l.plugins) {
      try {
        const path = await this.invoke.findInPath(plugin.type);
        validateContainerId(rt.containerId);
        validateNetworkName(l.name);
        validateInterfaceName(rt.ifName);
        const stdin = buildOneConfig(l, plugin, result, rt);
        result = await this.invoke.execWithResult(
          plugin.type,
          path,
          stdin,
          this.invoke.env("ADD", rt),
          l.cniVersion,
        );
      } catch (err) {
        throw wrap(err, `plugin ${describePlugin(plugin)} failed (add)`);
      }
    }
    try {
      await this.cache.add(result, l, rt);
    } catch (err) {
      throw wrap(err, `failed to set network ${JSON.stringify(l.name)} cached result`);
    }
    return result === undefined ? {} : resultObject(result);
  }

  /** CheckNetworkList: CHECK on each plugin in order with the cached result; 0.4.0 and later only. */
  async checkNetworkList(input: ListInput, rt: RuntimeConf): Promise<void> {
    const l = parseList(input);
    if (!versionAtLeast(l.cniVersion, "0.4.0"))
      throw new Error(
        `configuration version ${JSON.stringify(l.cniVersion)} does not support the CHECK command`,
      );
    if (l.disableCheck) return;
    let cached: Result | undefined;
    try {
      cached = await this.cache.result(l.name, l.cniVersion, rt);
    } catch (err) {
      throw wrap(err, `failed to get network ${JSON.stringify(l.name)} cached result`);
    }
    for (const plugin of l.plugins) {
      const path = await this.invoke.findInPath(plugin.type);
      await this.invoke.exec(
        plugin.type,
        path,
        buildOneConfig(l, plugin, cached, rt),
        this.invoke.env("CHECK", rt),
      );
    }
  }

  /** DelNetworkList: DEL on each plugin in reverse order, then the cache entry goes. */
  async delNetworkList(input: ListInput, rt: RuntimeConf): Promise<void> {
    const l = parseList(input);
    let cached: Result | undefined;
    if (versionAtLeast(l.cniVersion, "0.4.0")) {
      try {
        cached = await this.cache.result(l.name, l.cniVersion, rt);
      } catch {
        await this.cache.remove(l.name, rt);
        cached = undefined;
      }
    }
    for (const plugin of [...l.plugins].reverse()) {
      try {
        const path = await this.invoke.findInPath(plugin.type);
        await this.invoke.exec(
          plugin.type,
          path,
          buildOneConfig(l, plugin, cached, rt),
          this.invoke.env("DEL", rt),
        );
      } catch (err) {
        throw wrap(err, `plugin ${describePlugin(plugin)} failed (delete)`);
      }
    }
    await this.cache.remove(l.name, rt);
  }

  /**
   * GCNetworkList: DEL of every cached attachment of this network that is not in `validAttachments` (all of
   * them when it is undefined), then, from 1.1.0 on, GC on every plugin. Keeps going on errors and throws
   * an AggregateError with all of them at the end.
   */
  async gcNetworkList(input: ListInput, validAttachments?: readonly GcAttachment[]): Promise<void> {
    const l = parseList(input);
    if (l.disableGC) return;
    let cachedAttachments: NetworkAttachment[];
    try {
      cachedAttachments = await this.cache.attachments("");
    } catch {
      return;
    }
    const valid = new Set((validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: Error[] = [];
    for (const a of cachedAttachments) {
      if (a.network !== l.name || valid.has(`${a.containerId}\0${a.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: a.containerId,
        netns: a.netns,
        ifName: a.ifName,
        ...(a.cniArgs === undefined ? {} : { args: a.cniArgs }),
        ...(a.capabilityArgs === undefined ? {} : { capabilityArgs: a.capabilityArgs }),
      };
      try {
        await this.delNetworkList(input, rt);
      } catch (err) {
        errors.push(wrap(err, `failed to delete stale attachment ${rt.containerId} ${rt.ifName}`));
      }
    }
    if (versionAtLeastOrFalse(l.cniVersion, "1.1.0")) {
      const inject: Obj = { name: l.name, cniVersion: l.cniVersion };
      if (validAttachments !== undefined) {
        const atts = validAttachments.map((a) => struct({ containerID: a.containerID, ifname: a.ifname }));
        inject["cni.dev/valid-attachments"] = atts;
        inject["cni.dev/attachments"] = atts; // containernetworking/cni#1101: the spec's first spelling
      }
      for (const plugin of l.plugins) {
        try {
          const path = await this.invoke.findInPath(plugin.type);
          await this.invoke.exec(
            plugin.type,
            path,
            marshal({ ...plugin.conf, ...inject }),
            this.invoke.bareEnv("GC"),
          );
        } catch (err) {
          errors.push(wrap(err, `failed to GC plugin ${plugin.type}`));
        }
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join("\n"));
  }

  /** GetStatusNetworkList: STATUS on each plugin, stopping at the first error; a no-op below 1.1.0. */
  async getStatusNetworkList(input: ListInput): Promise<void> {
    const l = parseList(input);
    if (!versionAtLeastOrFalse(l.cniVersion, "1.1.0")) return;
    for (const plugin of l.plugins) {
      const path = await this.invoke.findInPath(plugin.type);
      const stdin = marshal({ ...plugin.conf, name: l.name, cniVersion: l.cniVersion });
      await this.invoke.exec(plugin.type, path, stdin, this.invoke.bareEnv("STATUS"));
    }
  }

  /**
   * ValidateNetworkList: every plugin exists and lists the list's cniVersion among its supportedVersions;
   * throws an AggregateError naming every plugin that does not. Returns the capabilities the plugins
   * declare, each once, in order of appearance.
   */
  async validateNetworkList(input: ListInput): Promise<string[]> {
    const l = parseList(input);
    const expected = l.cniVersion === "" ? "0.1.0" : l.cniVersion;
    const caps = new Set<string>();
    const errors: Error[] = [];
    for (const plugin of l.plugins) {
      try {
        const supported = await this.invoke.versionInfo(plugin.type);
        if (!supported.includes(expected))
          throw new Error(
            `plugin ${plugin.type} does not support config version ${JSON.stringify(expected)}`,
          );
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
      for (const [cap, enabled] of Object.entries(plugin.capabilities)) if (enabled) caps.add(cap);
    }
    if (errors.length > 0) throw new AggregateError(errors, `[${errors.map((e) => e.message).join(" ")}]`);
    return [...caps];
  }

  /** GetVersionInfo: the spec versions a plugin reports through VERSION. */
  getVersionInfo(pluginType: string): Promise<string[]> {
    return this.invoke.versionInfo(pluginType);
  }

  /** FindInPath: the first regular file `<dir>/<type>` in pluginDirs. */
  findInPath(plugin: string): Promise<string> {
    return this.invoke.findInPath(plugin);
  }

  // -- the cache ------------------------------------------------------------------------------------------

  /** The cache file of an attachment: <cacheDir>/results/<network>-<containerID>-<ifName>. */
  cacheFilePath(netName: string, rt: Pick<RuntimeConf, "containerId" | "ifName">): string {
    return this.cache.filePath(netName, rt);
  }

  /** GetNetworkListCachedResult: the cached ADD result in the list's version; null when none is cached. */
  async getCachedResult(input: ListInput, rt: RuntimeConf): Promise<Record<string, unknown> | null> {
    const l = parseList(input);
    const r = await this.cache.result(l.name, l.cniVersion, rt);
    return r === undefined ? null : resultObject(r);
  }

  /**
   * GetNetworkListCachedConfig: the list bytes ADD cached, and `rt` with the cached CNI_ARGS (if any) and
   * capability args; null when nothing is cached.
   */
  async getCachedConfig(
    input: ListInput,
    rt: RuntimeConf,
  ): Promise<{ config: Buffer; rt: RuntimeConf } | null> {
    const l = parseList(input);
    return await this.cache.config(l.name, rt);
  }

  /** GetCachedAttachments: the cached attachments, only those of one container when containerId is given. */
  getCachedAttachments(containerId = ""): Promise<NetworkAttachment[]> {
    return this.cache.attachments(containerId);
  }
}
