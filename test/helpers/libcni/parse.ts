/**
 * Network configuration lists as libcni (containernetworking/cni v1.3.0) parses them (libcni/conf.go:
 * NetworkConfFromBytes, NetworkPluginConfFromBytes), and the names it checks before an ADD (pkg/utils).
 */
import { decodeDns } from "./convert.js";
import { CniError, message } from "./errors.js";
import {
  field,
  goTypeName,
  isObj,
  jsonKind,
  list,
  marshal,
  record,
  str,
  typeError,
  type Obj,
} from "./go-json.js";
import { compareVersions, CURRENT_VERSION } from "./version.js";

export interface NetworkConfigList {
  cniVersion?: string;
  cniVersions?: string[];
  name: string;
  plugins: Record<string, unknown>[];
  disableCheck?: boolean | string;
  disableGC?: boolean | string;
  [key: string]: unknown;
}

/** A list as an object (its bytes are its JSON.stringify) or as the exact text of a .conflist file. */
export type ListInput = NetworkConfigList | string;

export interface Plugin {
  /** The plugin object as libcni holds it: decoded and re-encoded, i.e. with sorted keys. */
  readonly conf: Obj;
  readonly type: string;
  readonly name: string;
  readonly capabilities: Readonly<Record<string, boolean>>;
}

export interface ParsedList {
  readonly name: string;
  readonly cniVersion: string;
  readonly disableCheck: boolean;
  readonly disableGC: boolean;
  readonly plugins: readonly Plugin[];
  readonly bytes: Buffer;
}

/** NetworkPluginConfFromBytes: the fields types.PluginConf decodes must have their types. */
function parsePlugin(v: unknown): Plugin {
  const path = "PluginConf";
  try {
    // A null plugin decodes as an empty PluginConf, which then lacks its type.
    if (v !== null && !isObj(v))
      throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go value of type types.PluginConf`);
    const conf = JSON.parse(marshal(v ?? {})) as Obj;
    str(field(conf, "cniVersion"), `${path}.cniVersion`);
    const ipam = record(field(conf, "ipam"), `${path}.ipam`, "types.IPAM");
    str(field(ipam, "type"), `${path}.ipam.type`);
    decodeDns(field(conf, "dns"), `${path}.dns`);
    record(field(conf, "prevResult"), `${path}.prevResult`, "map[string]interface {}");
    const gcPath = `${path}.cni.dev/valid-attachments`;
    for (const a of list(field(conf, "cni.dev/valid-attachments"), gcPath, "[]types.GCAttachment")) {
      const attachment = record(a, gcPath, "types.GCAttachment");
      str(field(attachment, "containerID"), `${gcPath}.containerID`);
      str(field(attachment, "ifname"), `${gcPath}.ifname`);
    }
    const caps = record(field(conf, "capabilities"), `${path}.capabilities`, "map[string]bool");
    const capabilities: Record<string, boolean> = {};
    for (const [k, b] of Object.entries(caps)) {
      if (b !== null && typeof b !== "boolean") throw typeError(b, `${path}.capabilities`, "bool");
      capabilities[k] = b === true;
    }
    const type = str(field(conf, "type"), `${path}.type`);
    if (type === "") throw new Error("missing 'type'");
    return { conf, type, name: str(field(conf, "name"), `${path}.name`), capabilities };
  } catch (err) {
    throw new Error(`error parsing configuration: ${message(err)}`, { cause: err });
  }
}

export function parseList(input: ListInput): ParsedList {
  const text = typeof input === "string" ? input : JSON.stringify(input);
  const fail = (why: string, cause?: unknown): never => {
    throw new Error(`error parsing configuration list: ${why}`, { cause });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(message(err), err);
  }
  if (raw === null) raw = {}; // decoded into a map, null leaves it empty
  if (!isObj(raw))
    return fail(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type map[string]interface {}`);
  if (!("name" in raw)) return fail("no name");
  const name = raw["name"];
  if (typeof name !== "string") return fail(`invalid name type ${goTypeName(name)}`);
  let cniVersion = "";
  if ("cniVersion" in raw) {
    const v = raw["cniVersion"];
    if (typeof v !== "string") return fail(`invalid cniVersion type ${goTypeName(v)}`);
    cniVersion = v;
  }
  if ("cniVersions" in raw) {
    // The highest of cniVersions and cniVersion that this library implements.
    const rvs = raw["cniVersions"];
    // libcni prints the type of its failed conversion's zero value, whatever the value was.
    if (!Array.isArray(rvs)) return fail("invalid type for cniVersions: []interface {}");
    const usable = (v: string, what: string): boolean => {
      try {
        return compareVersions(v, CURRENT_VERSION) <= 0;
      } catch (err) {
        return fail(`invalid ${what}: ${message(err)}`, err);
      }
    };
    const vs: string[] = [];
    rvs.forEach((v: unknown, i) => {
      if (typeof v !== "string") fail(`invalid type for cniVersions index ${i}: ${goTypeName(v)}`);
      else if (usable(v, `cniVersions entry ${v} at index ${i}`)) vs.push(v);
    });
    if (cniVersion !== "" && usable(cniVersion, `cniVersion ${cniVersion}`)) vs.push(cniVersion);
    vs.sort(compareVersions);
    cniVersion = vs.at(-1) ?? cniVersion;
  }
  const readBool = (key: string): boolean => {
    if (!(key in raw)) return false;
    const v = raw[key];
    if (typeof v === "boolean") return v;
    if (typeof v !== "string") return fail(`invalid type ${goTypeName(v)} for ${key}`);
    const s = v.toLowerCase();
    if (s === "true" || s === "false") return s === "true";
    return fail(`invalid value ${JSON.stringify(s)} for ${key}`);
  };
  const disableCheck = readBool("disableCheck");
  const disableGC = readBool("disableGC");
  const loadOnlyInlined = readBool("loadOnlyInlinedPlugins");
  let plugins: Plugin[] = [];
  if ("plugins" in raw) {
    const ps = raw["plugins"];
    if (!Array.isArray(ps)) return fail(`invalid 'plugins' type ${goTypeName(ps)}`);
    if (ps.length === 0) return fail("no plugins in list");
    plugins = ps.map((p: unknown, i) => {
      try {
        return parsePlugin(p);
      } catch (err) {
        throw new Error(`failed to parse plugin config ${i}: ${message(err)}`, { cause: err });
      }
    });
  } else if (loadOnlyInlined) fail("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
  return { name, cniVersion, disableCheck, disableGC, plugins, bytes: Buffer.from(text) };
}

export const describePlugin = (p: Plugin): string =>
  `type=${JSON.stringify(p.type)}${p.name === "" ? "" : ` name=${JSON.stringify(p.name)}`}`;

// Names (pkg/utils), CNI error codes 3, 4 and 7

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (id === "") throw new CniError({ code: 3, msg: "missing containerID" });
  if (!VALID_NAME.test(id))
    throw new CniError({ code: 4, msg: "invalid characters in containerID", details: id });
}

export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError({ code: 7, msg: "missing network name:" });
  if (!VALID_NAME.test(name))
    throw new CniError({ code: 7, msg: "invalid characters found in network name", details: name });
}

/** `/`, `:` and Go's unicode.IsSpace (JavaScript's \s differs: it has U+FEFF and lacks U+0085). */
const IFNAME_FORBIDDEN = /[/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

export function validateInterfaceName(ifName: string): void {
  if (ifName === "") throw new CniError({ code: 4, msg: "interface name is empty" });
  if (Buffer.byteLength(ifName) > 15)
    throw new CniError({
      code: 4,
      msg: "interface name is too long",
      details: "interface name should be less than 16 characters",
    });
  if (ifName === "." || ifName === "..") throw new CniError({ code: 4, msg: "interface name is . or .." });
  if (IFNAME_FORBIDDEN.test(ifName))
    throw new CniError({ code: 4, msg: "interface name contains / or : or whitespace characters" });
}
