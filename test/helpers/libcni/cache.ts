/**
 * libcni's result cache (containernetworking/cni v1.3.0, libcni/api.go cachedInfo): one cniCacheV1 file per
 * attachment under `<cacheDir>/results`, written after ADD and read back for CHECK, DEL and GC.
 */
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { convertResult, createFromJson, resultObject, type Result } from "./convert.js";
import { message } from "./errors.js";
import { byBytes, field, isObj, jsonKind, list, marshal, record, str, struct, type Obj } from "./go-json.js";
import type { RuntimeConf } from "./invoke.js";
import type { ParsedList } from "./parse.js";

/** One cached attachment (libcni.NetworkAttachment). */
export interface NetworkAttachment {
  readonly containerId: string;
  readonly network: string;
  readonly ifName: string;
  /** The list's bytes as ADD got them. */
  readonly config: Buffer;
  readonly netns: string;
  readonly cniArgs?: [string, string][];
  readonly capabilityArgs?: Record<string, unknown>;
}

interface CachedInfo {
  kind: string;
  containerId: string;
  config: Buffer;
  ifName: string;
  networkName: string;
  netns: string;
  cniArgs: [string, string][] | undefined;
  capabilityArgs: Record<string, unknown> | undefined;
  result: Obj | undefined;
}

function decodeCachedInfo(text: string): CachedInfo {
  const raw: unknown = JSON.parse(text);
  if (raw !== null && !isObj(raw))
    throw new Error(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type libcni.cachedInfo`);
  const o = raw ?? {};
  const s = (key: string): string => str(field(o, key), `cachedInfo.${key}`);
  const config = s("config");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(config) || config.length % 4 !== 0)
    throw new Error("illegal base64 data in cachedInfo.config");
  const args = field(o, "cniArgs");
  const caps = field(o, "capabilityArgs");
  const result = field(o, "result");
  return {
    kind: s("kind"),
    containerId: s("containerId"),
    config: Buffer.from(config, "base64"),
    ifName: s("ifName"),
    networkName: s("networkName"),
    netns: s("netns"),
    cniArgs:
      args === undefined || args === null
        ? undefined
        : list(args, "cachedInfo.cniArgs", "[][2]string").map((kv): [string, string] => {
            const pair = list(kv, "cachedInfo.cniArgs", "[2]string").map((x) => str(x, "cachedInfo.cniArgs"));
            return [pair[0] ?? "", pair[1] ?? ""];
          }),
    capabilityArgs:
      caps === undefined || caps === null
        ? undefined
        : record(caps, "cachedInfo.capabilityArgs", "map[string]interface {}"),
    result:
      result === undefined || result === null
        ? undefined
        : record(result, "cachedInfo.result", "map[string]interface {}"),
  };
}

/** The cache files of one cache directory (libcni's default is /var/lib/cni). */
export class ResultCache {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The cache file of an attachment: <cacheDir>/results/<network>-<containerID>-<ifName>. */
  filePath(netName: string, rt: Pick<RuntimeConf, "containerId" | "ifName">): string {
    if (netName === "" || rt.containerId === "" || rt.ifName === "")
      throw new Error(
        `cache file path requires network name (${JSON.stringify(netName)}), container ID ` +
          `(${JSON.stringify(rt.containerId)}), and interface name (${JSON.stringify(rt.ifName)})`,
      );
    return join(this.dir, "results", `${netName}-${rt.containerId}-${rt.ifName}`);
  }

  /** cacheAdd: the final ADD result with what DEL and GC need to find and undo the attachment. */
  async add(result: Result | undefined, l: ParsedList, rt: RuntimeConf): Promise<void> {
    // cachedInfo's fields in struct order (empty ones omitted); the result went through a map: keys sorted.
    const raw = result === undefined ? undefined : resultObject(result);
    const caps = rt.capabilityArgs;
    const cached = struct({
      kind: "cniCacheV1",
      containerId: rt.containerId,
      config: l.bytes.toString("base64"),
      ifName: rt.ifName,
      networkName: l.name,
      netns: rt.netns === "" ? undefined : rt.netns,
      cniArgs: rt.args !== undefined && rt.args.length > 0 ? rt.args : undefined,
      capabilityArgs: caps !== undefined && Object.keys(caps).length > 0 ? caps : undefined,
      result: raw !== undefined && Object.keys(raw).length > 0 ? raw : undefined,
    });
    const file = this.filePath(l.name, rt);
    await mkdir(join(this.dir, "results"), { recursive: true, mode: 0o700 });
    await writeFile(file, marshal(cached), { mode: 0o600 });
  }

  /** cacheDel: the attachment's entry goes, if there is one. */
  async remove(netName: string, rt: RuntimeConf): Promise<void> {
    let file: string;
    try {
      file = this.filePath(netName, rt);
    } catch {
      return;
    }
    await rm(file, { force: true }).catch(() => undefined);
  }

  /** getCachedResult: undefined when no cache file can be read; a v1 entry, or else a bare legacy result. */
  async result(netName: string, cniVersion: string, rt: RuntimeConf): Promise<Result | undefined> {
    const file = this.filePath(netName, rt);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return undefined;
    }
    let info: CachedInfo | undefined;
    try {
      info = decodeCachedInfo(text);
    } catch {
      info = undefined;
    }
    let raw: unknown;
    if (info?.kind === "cniCacheV1") raw = info.result ?? null;
    else {
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw new Error(`decoding version from network config: ${message(err)}`, { cause: err });
      }
    }
    const result = createFromJson(raw);
    try {
      return convertResult(result, cniVersion);
    } catch (err) {
      throw new Error(
        `failed to convert cached result to config version ${JSON.stringify(cniVersion)}: ${message(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * getCachedConfig: the list bytes ADD cached, and `rt` with the cached CNI_ARGS (if any) and
   * capability args; null when nothing is cached.
   */
  async config(netName: string, rt: RuntimeConf): Promise<{ config: Buffer; rt: RuntimeConf } | null> {
    const file = this.filePath(netName, rt);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return null;
    }
    let info: CachedInfo;
    try {
      info = decodeCachedInfo(text);
    } catch (err) {
      throw new Error(
        `failed to unmarshal cached network ${JSON.stringify(netName)} config: ${message(err)}`,
        {
          cause: err,
        },
      );
    }
    if (info.kind !== "cniCacheV1")
      throw new Error(`read cached network ${JSON.stringify(netName)} config has wrong kind: ${info.kind}`);
    const args = info.cniArgs ?? rt.args;
    return {
      config: info.config,
      rt: {
        containerId: rt.containerId,
        netns: rt.netns,
        ifName: rt.ifName,
        ...(args === undefined ? {} : { args }),
        ...(info.capabilityArgs === undefined ? {} : { capabilityArgs: info.capabilityArgs }),
      },
    };
  }

  /** GetCachedAttachments: the cached attachments, only those of one container when containerId is given. */
  async attachments(containerId: string): Promise<NetworkAttachment[]> {
    const dir = join(this.dir, "results");
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    names.sort(byBytes);
    const out: NetworkAttachment[] = [];
    for (const name of names) {
      if (containerId !== "") {
        const part = `-${containerId}-`;
        const pos = name.indexOf(part);
        if (pos <= 0 || pos + part.length >= name.length) continue;
      }
      let info: CachedInfo;
      try {
        info = decodeCachedInfo(await readFile(join(dir, name), "utf8"));
      } catch {
        continue;
      }
      if (info.kind !== "cniCacheV1") continue;
      if (containerId !== "" && info.containerId !== containerId) continue;
      if (info.ifName === "" || info.networkName === "") continue;
      out.push({
        containerId: info.containerId,
        network: info.networkName,
        ifName: info.ifName,
        config: info.config,
        netns: info.netns,
        ...(info.cniArgs === undefined ? {} : { cniArgs: info.cniArgs }),
        ...(info.capabilityArgs === undefined ? {} : { capabilityArgs: info.capabilityArgs }),
      });
    }
    return out;
  }
}
