/**
 * libcni re-implemented for tests and benchmarks: runs a CNI network configuration list the way
 * containernetworking/cni `libcni/api.go` (v1.3) does, so a test sees what containerd, CRI-O or cnitool would
 * make a plugin see.
 *
 * Reproduced from libcni and the packages it uses (pkg/invoke, pkg/types, pkg/version, pkg/utils):
 * - list parsing (NetworkConfFromBytes): `name` required, `cniVersions` picks the highest version this
 *   library implements (1.1.0) together with `cniVersion`, `disableCheck`/`disableGC` as booleans or
 *   "true"/"false" strings, every plugin needs a `type`;
 * - plugin lookup (FindInPath): `<dir>/<type>` in pluginDirs order, the first regular file;
 * - stdin (buildOneConfig, InjectConf, injectRuntimeConfig): the plugin object with `name` and `cniVersion`
 *   of the list, `prevResult`, and `runtimeConfig` holding the capabilityArgs whose capability the plugin
 *   declares; serialized as Go's encoding/json does (map keys sorted, `<>&` escaped, 0.x results in their
 *   struct field order);
 * - environment (invoke.Args): ours plus CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_ARGS (K=V;K=V),
 *   CNI_IFNAME and CNI_PATH (pluginDirs joined by ':'), all six always set;
 * - ADD checks the container ID, network name and ifname (utils.Validate*) before each plugin;
 * - results (invoke.ExecPluginWithResult, types/{020,040,100}): a result without cniVersion takes the
 *   config's; results are decoded into the typed Result of their version, which drops unknown keys and
 *   prints addresses canonically, and are converted between versions as the Go converters do;
 * - ADD in order, each plugin getting the previous plugin's result; the final result cached in
 *   `<cacheDir>/results/<network>-<containerID>-<ifName>` (kind cniCacheV1);
 * - CHECK (>= 0.4.0 only, nothing when disableCheck) and DEL (reverse order) with the cached result converted
 *   to the list's version; DEL passes prevResult only from 0.4.0 on, tolerates a missing or broken cache, and
 *   removes the cache file afterwards; a missing cache does not stop CHECK either (the plugins then see no
 *   prevResult, and the reference plugins refuse that);
 * - GC: unless disableGC, DEL of every cached attachment of the network that is not valid (in any version),
 *   then, from 1.1.0 on, GC on every plugin with `cni.dev/valid-attachments` (and the misspelt
 *   `cni.dev/attachments`); it does not stop at an error and reports them all;
 * - STATUS from 1.1.0 on (a no-op below), stopping at the first error;
 * - VERSION as invoke.GetVersionInfo runs it, and ValidateNetworkList;
 * - errors: a failed plugin's stdout is decoded as `{code, msg, details}`; messages and wrapping follow
 *   libcni (`plugin type="bridge" failed (add): ...`).
 *
 * Deliberate differences: plugins run with a timeout (libcni relies on its caller's context); a plugin
 * whose exec fails with "text file busy" is retried properly (libcni's retry reuses the exec.Cmd and so
 * never works); a successful plugin's stderr goes to `onStderr` (libcni copies it to its own stderr).
 *
 * Processes are spawned directly, never through a shell; with `hostNs` each plugin runs as
 * `nsenter --net=/run/netns/<hostNs> <plugin>`, so it sees that namespace as the runtime's root namespace.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { isIPv4, isIPv6 } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** The spec version libcni implements (version.Current()). */
export const CURRENT_VERSION = "1.1.0";
/** libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = "/var/lib/cni";

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

export interface GcAttachment {
  readonly containerID: string;
  readonly ifname: string;
}

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

export interface LibCniOptions {
  /** Directories searched for plugin binaries, in order; also CNI_PATH. */
  readonly pluginDirs: readonly string[];
  /** Holds results/<network>-<containerID>-<ifName>; libcni's default is /var/lib/cni. */
  readonly cacheDir: string;
  /** Runs each plugin via `nsenter --net=/run/netns/<hostNs>`. */
  readonly hostNs?: string;
  /** Extra environment for the plugins, on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Per plugin exec; default 30 s. */
  readonly timeoutMs?: number;
  /** Receives what a successful plugin wrote to stderr; default: this process's stderr, as libcni does. */
  readonly onStderr?: (text: string, plugin: string, command: string) => void;
}

/** A CNI error: decoded from a failed plugin's stdout, or raised by libcni itself (exitCode null). */
export class CniError extends Error {
  override readonly name = "CniError";
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;
  /** The plugin's exit code; null if it did not run or was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    init: {
      code: number;
      msg: string;
      details?: string | undefined;
      exitCode?: number | null;
      signal?: NodeJS.Signals | null;
      stderr?: string;
      stdout?: string;
    },
    message?: string,
    options?: ErrorOptions,
  ) {
    const details = init.details === undefined || init.details === "" ? "" : `; ${init.details}`;
    super(message ?? `${init.msg}${details}`, options);
    this.code = init.code;
    this.msg = init.msg;
    this.details = init.details;
    this.exitCode = init.exitCode ?? null;
    this.signal = init.signal ?? null;
    this.stderr = init.stderr ?? "";
    this.stdout = init.stdout ?? "";
  }

  /** The same error with `prefix: ` before the message, as libcni's fmt.Errorf("...: %w") wraps. */
  wrap(prefix: string): CniError {
    return new CniError(this, `${prefix}: ${this.message}`, { cause: this });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Versions (pkg/version)

function parseVersion(version: string): [number, number, number] {
  if (version === "") return [0, 1, 0]; // no version declared means 0.1.0
  const parts = version.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${JSON.stringify(version)}: too many parts`);
  const names = ["major", "minor", "micro"];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((part, i) => {
    if (!/^[+-]?\d+$/.test(part))
      throw new Error(
        `failed to convert ${names[i] ?? ""} version part ${JSON.stringify(part)}: ` +
          `strconv.Atoi: parsing ${JSON.stringify(part)}: invalid syntax`,
      );
    out[i] = Number(part);
  });
  return out;
}

/** Compares two spec versions numerically (0.3.0 < 0.3.1 < 0.4.0 < 1.0.0 < 1.1.0); throws on a bad one. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  return 0;
}

/** version.GreaterThanOrEqualTo. */
export const versionAtLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

/** The comparison where libcni ignores a malformed version (GC, STATUS): false then. */
function versionAtLeastOrFalse(version: string, min: string): boolean {
  try {
    return versionAtLeast(version, min);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// JSON as Go's encoding/json writes it

/** Objects serialized in insertion order (Go structs); all others are maps, whose keys Go sorts. */
const ORDERED = new WeakSet<object>();
function struct<T extends object>(value: T): T {
  ORDERED.add(value);
  return value;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
const goString = (s: string): string =>
  JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

function marshal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`json: unsupported value: ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value !== "object") throw new Error(`json: unsupported type: ${typeof value}`);
  if (Array.isArray(value)) return `[${value.map(marshal).join(",")}]`;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
  if (!ORDERED.has(value)) keys.sort(byBytes);
  return `{${keys.map((k) => `${goString(k)}:${marshal(rec[k])}`).join(",")}}`;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

const typeError = (v: unknown, path: string, goType: string): Error =>
  new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${path} of type ${goType}`);

/** A struct field as Go's decoder finds it: the key matched case-insensitively, the last match winning. */
function field(o: Obj, key: string): unknown {
  let found: unknown;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k === key || k.toLowerCase() === lower) found = v;
  return found;
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw typeError(v, path, "string");
  return v;
}

function int(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(v, path, "int");
  return v;
}

function list(v: unknown, path: string, goType: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw typeError(v, path, goType);
  return v;
}

function record(v: unknown, path: string, goType: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw typeError(v, path, goType);
  return v;
}

const strs = (v: unknown, path: string): string[] => list(v, path, "[]string").map((s) => str(s, path));

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------------------------------------------------
// Addresses as net.IP and net.IPNet print them

function canonicalIp(s: string): string | undefined {
  if (isIPv4(s)) return s;
  if (s.includes("%") || !isIPv6(s)) return undefined;
  // The URL serializer compresses IPv6 as RFC 5952 (and Go) do: the first longest run of 2+ zero groups.
  const host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped === null) return host;
  const hi = parseInt(mapped[1] ?? "0", 16);
  const lo = parseInt(mapped[2] ?? "0", 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** types.IPNet: a CIDR keeping the address's host bits; a missing one prints as Go's zero IPNet does. */
function ipNet(v: unknown, path: string): string {
  if (v === undefined) return "<nil>";
  const s = str(v, path);
  const slash = s.indexOf("/");
  const addr = slash < 0 ? "" : s.slice(0, slash);
  const bits = slash < 0 ? "" : s.slice(slash + 1);
  const ip = canonicalIp(addr);
  const max = isIPv4(addr) ? 32 : 128;
  if (ip === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
    throw new Error(`invalid CIDR address: ${s}`);
  // An IPv4-mapped IPv6 network prints as IPv4 with the last 32 bits of its mask.
  const ones = max === 128 && ip.includes(".") ? Math.max(0, Number(bits) - 96) : Number(bits);
  return `${ip}/${ones}`;
}

/** net.IP from JSON: "" or null is no address. */
function ipAddr(v: unknown, path: string): string | undefined {
  const s = str(v, path);
  if (s === "") return undefined;
  const ip = canonicalIp(s);
  if (ip === undefined) throw new Error(`invalid IP address: ${s}`);
  return ip;
}

/** Whether a canonical address or CIDR is IPv4 (Go: To4() != nil). */
const isV4 = (canonical: string): boolean => canonical.includes(".");

// ---------------------------------------------------------------------------------------------------------
// Results (pkg/types/020, 040, 100 and their converters)

interface Route {
  dst: string;
  gw: string | undefined;
  mtu: number | undefined;
  advmss: number | undefined;
  priority: number | undefined;
  table: number | undefined;
  scope: number | undefined;
}
interface Dns {
  nameservers: string[];
  domain: string;
  search: string[];
  options: string[];
}
interface Iface {
  name: string;
  mac: string;
  mtu: number | undefined;
  sandbox: string;
  socketPath: string;
  pciID: string;
}
interface IpConfig {
  /** "4" or "6"; 0.3.x/0.4.0 only. */
  version: string;
  interface: number | undefined;
  address: string;
  gateway: string | undefined;
}
interface Ip020 {
  ip: string;
  gateway: string | undefined;
  routes: Route[];
}
type Family = "020" | "040" | "100";
type Result =
  | {
      family: "040" | "100";
      cniVersion: string;
      interfaces: Iface[];
      ips: IpConfig[];
      routes: Route[];
      dns: Dns;
    }
  | { family: "020"; cniVersion: string; ip4: Ip020 | undefined; ip6: Ip020 | undefined; dns: Dns };

const FAMILIES: Record<Family, readonly string[]> = {
  "020": ["", "0.1.0", "0.2.0"],
  "040": ["0.3.0", "0.3.1", "0.4.0"],
  "100": ["1.0.0", "1.1.0"],
};

const familyOf = (version: string): Family | undefined =>
  (Object.keys(FAMILIES) as Family[]).find((f) => FAMILIES[f].includes(version));

function decodeRoute(v: unknown, path: string): Route {
  const o = record(v, path, "types.Route");
  return {
    dst: ipNet(field(o, "dst"), `${path}.dst`),
    gw: ipAddr(field(o, "gw"), `${path}.gw`),
    mtu: int(field(o, "mtu"), `${path}.mtu`),
    advmss: int(field(o, "advmss"), `${path}.advmss`),
    priority: int(field(o, "priority"), `${path}.priority`),
    table: int(field(o, "table"), `${path}.table`),
    scope: int(field(o, "scope"), `${path}.scope`),
  };
}

function decodeDns(v: unknown, path: string): Dns {
  const o = record(v, path, "types.DNS");
  return {
    nameservers: strs(field(o, "nameservers"), `${path}.nameservers`),
    domain: str(field(o, "domain"), `${path}.domain`),
    search: strs(field(o, "search"), `${path}.search`),
    options: strs(field(o, "options"), `${path}.options`),
  };
}

/** Go would keep a null element as a nil pointer and crash converting it; refuse it instead. */
const nullElement = (path: string): Error => new Error(`${path}: null elements are not supported`);

/** create.Create(version, bytes): the typed Result of `version`'s family decoded from `raw`. */
function createResult(version: string, raw: unknown): Result {
  const family = familyOf(version);
  if (family === undefined) throw new Error(`unsupported CNI result version ${JSON.stringify(version)}`);
  if (raw !== null && !isObj(raw))
    throw new Error(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type types${family}.Result`);
  const o = raw ?? {};
  let cniVersion = str(field(o, "cniVersion"), "Result.cniVersion");
  if (!FAMILIES[family].includes(cniVersion))
    throw new Error(
      `result type supports [${FAMILIES[family].join(" ")}] but unmarshalled CNIVersion is ` +
        JSON.stringify(cniVersion),
    );
  const dns = decodeDns(field(o, "dns"), "Result.dns");
  if (family === "020") {
    if (cniVersion === "") cniVersion = "0.1.0";
    const ip = (key: string): Ip020 | undefined => {
      const v = field(o, key);
      if (v === undefined || v === null) return undefined;
      const c = record(v, `Result.${key}`, "types020.IPConfig");
      return {
        ip: ipNet(field(c, "ip"), `Result.${key}.ip`),
        gateway: ipAddr(field(c, "gateway"), `Result.${key}.gateway`),
        routes: list(field(c, "routes"), `Result.${key}.routes`, "[]types.Route").map((r) =>
          decodeRoute(r, `Result.${key}.routes`),
        ),
      };
    };
    return { family, cniVersion, ip4: ip("ip4"), ip6: ip("ip6"), dns };
  }
  const interfaces = list(field(o, "interfaces"), "Result.interfaces", "[]*Interface").map((v) => {
    if (v === null) throw nullElement("Result.interfaces");
    const i = record(v, "Result.interfaces", "Interface");
    const s = (key: string): string => str(field(i, key), `Interface.interfaces.${key}`);
    return family === "040"
      ? { name: s("name"), mac: s("mac"), mtu: undefined, sandbox: s("sandbox"), socketPath: "", pciID: "" }
      : {
          name: s("name"),
          mac: s("mac"),
          mtu: int(field(i, "mtu"), "Interface.interfaces.mtu"),
          sandbox: s("sandbox"),
          socketPath: s("socketPath"),
          pciID: s("pciID"),
        };
  });
  const ips = list(field(o, "ips"), "Result.ips", "[]*IPConfig").map((v) => {
    if (v === null) throw nullElement("Result.ips");
    const c = record(v, "Result.ips", "ipConfig");
    return {
      version: family === "040" ? str(field(c, "version"), "ipConfig.version") : "",
      interface: int(field(c, "interface"), "ipConfig.interface"),
      address: ipNet(field(c, "address"), "ipConfig.address"),
      gateway: ipAddr(field(c, "gateway"), "ipConfig.gateway"),
    };
  });
  const routes = list(field(o, "routes"), "Result.routes", "[]*types.Route").map((v) => {
    if (v === null) throw nullElement("Result.routes");
    return decodeRoute(v, "Result.routes");
  });
  return { family, cniVersion, interfaces, ips, routes, dns };
}

const nonEmpty = <T>(a: T[]): T[] | undefined => (a.length > 0 ? a : undefined);
const orUndefined = <T>(v: T): T | undefined => (v === "" || v === 0 ? undefined : v);

/** The Result as json.Marshal writes it: 0.x results in struct order, 1.x ones (via a map) sorted. */
function resultJson(r: Result): Obj {
  const mark = r.family === "100" ? <T>(v: T): T => v : struct;
  const route = (x: Route): Obj =>
    mark({
      dst: x.dst,
      gw: x.gw,
      mtu: orUndefined(x.mtu),
      advmss: orUndefined(x.advmss),
      priority: orUndefined(x.priority),
      table: x.table,
      scope: x.scope,
    });
  const d = r.dns;
  const dnsEmpty =
    d.nameservers.length === 0 && d.domain === "" && d.search.length === 0 && d.options.length === 0;
  const dns = mark({
    nameservers: nonEmpty(d.nameservers),
    domain: orUndefined(d.domain),
    search: nonEmpty(d.search),
    options: nonEmpty(d.options),
  });
  if (r.family === "020") {
    const ip = (c: Ip020 | undefined): Obj | undefined =>
      c && struct({ ip: c.ip, gateway: c.gateway, routes: nonEmpty(c.routes.map(route)) });
    return struct({ cniVersion: orUndefined(r.cniVersion), ip4: ip(r.ip4), ip6: ip(r.ip6), dns });
  }
  const interfaces = r.interfaces.map((i) =>
    r.family === "040"
      ? struct({ name: i.name, mac: orUndefined(i.mac), sandbox: orUndefined(i.sandbox) })
      : {
          name: i.name,
          mac: orUndefined(i.mac),
          mtu: orUndefined(i.mtu),
          sandbox: orUndefined(i.sandbox),
          socketPath: orUndefined(i.socketPath),
          pciID: orUndefined(i.pciID),
        },
  );
  const ips = r.ips.map((c) =>
    r.family === "040"
      ? struct({ version: c.version, interface: c.interface, address: c.address, gateway: c.gateway })
      : { interface: c.interface, address: c.address, gateway: c.gateway },
  );
  return mark({
    cniVersion: orUndefined(r.cniVersion),
    interfaces: nonEmpty(interfaces),
    ips: nonEmpty(ips),
    routes: nonEmpty(r.routes.map(route)),
    // types040.Result has no MarshalJSON: its empty DNS struct is written as {}.
    dns: r.family === "100" && dnsEmpty ? undefined : dns,
  });
}

const resultObject = (r: Result): Record<string, unknown> => JSON.parse(marshal(resultJson(r))) as Obj;

const copyDns = (d: Dns): Dns => ({
  nameservers: [...d.nameservers],
  domain: d.domain,
  search: [...d.search],
  options: [...d.options],
});

/** Result.GetAsVersion(to), following the converters libcni registers. */
function convertResult(r: Result, toVersion: string): Result {
  const to = toVersion === "" ? "0.1.0" : toVersion;
  if (r.cniVersion === to) return r;
  const target = familyOf(to);
  if (target === undefined) throw new Error(`no converter for CNI result version ${r.cniVersion} to ${to}`);
  if (r.family === "020") {
    if (target === "020") return { ...r, cniVersion: to };
    // types040.convertFrom02x; on to 1.x from there.
    const ips: IpConfig[] = [];
    const routes: Route[] = [];
    for (const [c, version] of [
      [r.ip4, "4"],
      [r.ip6, "6"],
    ] as const) {
      if (c === undefined) continue;
      ips.push({ version, interface: undefined, address: c.ip, gateway: c.gateway });
      routes.push(...c.routes.map((x) => ({ ...x })));
    }
    const r040: Result = {
      family: "040",
      cniVersion: "0.4.0",
      interfaces: [],
      ips,
      routes,
      dns: copyDns(r.dns),
    };
    return convertResult(r040, to);
  }
  if (r.family === "040") {
    if (target === "040") return { ...r, cniVersion: to };
    if (target === "100")
      return {
        family: "100",
        cniVersion: to,
        interfaces: r.interfaces.map((i) => ({ ...i, mtu: undefined, socketPath: "", pciID: "" })),
        ips: r.ips.map((c) => ({ ...c, version: "" })),
        routes: r.routes.map((x) => ({ ...x })),
        dns: copyDns(r.dns),
      };
    // types040.convertTo02x: the first address of each family, by the ip's version field.
    let ip4: Ip020 | undefined;
    let ip6: Ip020 | undefined;
    for (const c of r.ips) {
      if (c.version === "4" && ip4 === undefined) ip4 = { ip: c.address, gateway: c.gateway, routes: [] };
      else if (c.version === "6" && ip6 === undefined)
        ip6 = { ip: c.address, gateway: c.gateway, routes: [] };
      if (ip4 !== undefined && ip6 !== undefined) break;
    }
    // Routes keep only dst and gw, and go to the family of their destination when it has an address.
    for (const x of r.routes)
      (isV4(x.dst) ? ip4 : ip6)?.routes.push({
        dst: x.dst,
        gw: x.gw,
        mtu: undefined,
        advmss: undefined,
        priority: undefined,
        table: undefined,
        scope: undefined,
      });
    if (ip4 === undefined && ip6 === undefined) throw new Error("cannot convert: no valid IP addresses");
    return { family: "020", cniVersion: to, ip4, ip6, dns: copyDns(r.dns) };
  }
  if (target === "100") return { ...r, cniVersion: to };
  // types100.convertTo04x; below 0.3.0 via 0.4.0.
  const r040: Result = {
    family: "040",
    cniVersion: target === "040" ? to : "0.4.0",
    interfaces: r.interfaces.map((i) => ({ ...i, mtu: undefined, socketPath: "", pciID: "" })),
    ips: r.ips.map((c) => ({ ...c, version: isV4(c.address) ? "4" : "6" })),
    routes: r.routes.map((x) => ({ ...x })),
    dns: copyDns(r.dns),
  };
  return target === "040" ? r040 : convertResult(r040, to);
}

/**
 * A result (as JSON) in another spec version, the way libcni converts a cached result for DEL and CHECK:
 * decoded by its own cniVersion, then converted.
 */
export function convertResultJson(result: unknown, toVersion: string): Record<string, unknown> {
  const version = isObj(result) ? str(field(result, "cniVersion"), "Result.cniVersion") : "";
  return resultObject(convertResult(createResult(version === "" ? "0.1.0" : version, result), toVersion));
}

// ---------------------------------------------------------------------------------------------------------
// Network configuration lists (libcni/conf.go)

interface Plugin {
  /** The plugin object as libcni holds it: decoded and re-encoded, i.e. with sorted keys. */
  readonly conf: Obj;
  readonly type: string;
  readonly name: string;
  readonly capabilities: Readonly<Record<string, boolean>>;
}

interface ParsedList {
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
    if (!isObj(v))
      throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go value of type types.PluginConf`);
    const conf = JSON.parse(marshal(v)) as Obj;
    str(field(conf, "cniVersion"), `${path}.cniVersion`);
    const ipam = record(field(conf, "ipam"), `${path}.ipam`, "types.IPAM");
    str(field(ipam, "type"), `${path}.ipam.type`);
    decodeDns(field(conf, "dns"), `${path}.dns`);
    record(field(conf, "prevResult"), `${path}.prevResult`, "map[string]interface {}");
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

function parseList(input: ListInput): ParsedList {
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
  if (!isObj(raw))
    return fail(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type map[string]interface {}`);
  if (!("name" in raw)) return fail("no name");
  const name = raw["name"];
  if (typeof name !== "string") return fail(`invalid name type ${jsonKind(name)}`);
  let cniVersion = "";
  if ("cniVersion" in raw) {
    const v = raw["cniVersion"];
    if (typeof v !== "string") return fail(`invalid cniVersion type ${jsonKind(v)}`);
    cniVersion = v;
  }
  if ("cniVersions" in raw) {
    // The highest of cniVersions and cniVersion that this library implements.
    const rvs = raw["cniVersions"];
    if (!Array.isArray(rvs)) return fail(`invalid type for cniVersions: ${jsonKind(rvs)}`);
    const usable = (v: string, what: string): boolean => {
      try {
        return compareVersions(v, CURRENT_VERSION) <= 0;
      } catch (err) {
        return fail(`invalid ${what}: ${message(err)}`, err);
      }
    };
    const vs: string[] = [];
    rvs.forEach((v: unknown, i) => {
      if (typeof v !== "string") fail(`invalid type for cniVersions index ${i}: ${jsonKind(v)}`);
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
    if (typeof v !== "string") return fail(`invalid type ${jsonKind(v)} for ${key}`);
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
    if (!Array.isArray(ps)) return fail(`invalid 'plugins' type ${jsonKind(ps)}`);
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

const describePlugin = (p: Plugin): string =>
  `type=${JSON.stringify(p.type)}${p.name === "" ? "" : ` name=${JSON.stringify(p.name)}`}`;

// ---------------------------------------------------------------------------------------------------------
// Validation (pkg/utils), CNI error codes 3, 4 and 7

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function validateContainerId(id: string): void {
  if (id === "") throw new CniError({ code: 3, msg: "missing containerID" });
  if (!VALID_NAME.test(id))
    throw new CniError({ code: 4, msg: "invalid characters in containerID", details: id });
}

function validateNetworkName(name: string): void {
  if (name === "") throw new CniError({ code: 7, msg: "missing network name:" });
  if (!VALID_NAME.test(name))
    throw new CniError({ code: 7, msg: "invalid characters found in network name", details: name });
}

function validateInterfaceName(ifName: string): void {
  if (ifName === "") throw new CniError({ code: 4, msg: "interface name is empty" });
  if (Buffer.byteLength(ifName) > 15)
    throw new CniError({
      code: 4,
      msg: "interface name is too long",
      details: "interface name should be less than 16 characters",
    });
  if (ifName === "." || ifName === "..") throw new CniError({ code: 4, msg: "interface name is . or .." });
  if (/[/:\s\u0085]/u.test(ifName))
    throw new CniError({ code: 4, msg: "interface name contains / or : or whitespace characters" });
}

// ---------------------------------------------------------------------------------------------------------
// The cache (libcni cachedInfo)

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

// ---------------------------------------------------------------------------------------------------------
// Running plugins (pkg/invoke)

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

/** fmt.Errorf("prefix: %w", err); a CniError stays one, with the plugin's code. */
function wrap(err: unknown, prefix: string): Error {
  if (err instanceof CniError) return err.wrap(prefix);
  return new Error(`${prefix}: ${message(err)}`, { cause: err });
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

export class LibCni {
  private readonly opts: LibCniOptions;

  constructor(opts: LibCniOptions) {
    this.opts = opts;
  }

  // -- the chain ------------------------------------------------------------------------------------------

  /** AddNetworkList: ADD on each plugin in order; caches and returns the final result. */
  async addNetworkList(input: ListInput, rt: RuntimeConf): Promise<Record<string, unknown>> {
    const l = parseList(input);
    let result: Result | undefined;
    for (const plugin of l.plugins) {
      try {
        const path = await this.findInPath(plugin.type);
        validateContainerId(rt.containerId);
        validateNetworkName(l.name);
        validateInterfaceName(rt.ifName);
        const stdin = buildOneConfig(l, plugin, result, rt);
        result = parseResult(
          l.cniVersion,
          await this.execPlugin(plugin.type, path, stdin, this.env("ADD", rt)),
        );
      } catch (err) {
        throw wrap(err, `plugin ${describePlugin(plugin)} failed (add)`);
      }
    }
    try {
      await this.cacheAdd(result, l, rt);
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
      cached = await this.cachedResult(l.name, l.cniVersion, rt);
    } catch (err) {
      throw wrap(err, `failed to get network ${JSON.stringify(l.name)} cached result`);
    }
    for (const plugin of l.plugins) {
      const path = await this.findInPath(plugin.type);
      await this.execPlugin(plugin.type, path, buildOneConfig(l, plugin, cached, rt), this.env("CHECK", rt));
    }
  }

  /** DelNetworkList: DEL on each plugin in reverse order, then the cache entry goes. */
  async delNetworkList(input: ListInput, rt: RuntimeConf): Promise<void> {
    const l = parseList(input);
    let cached: Result | undefined;
    if (versionAtLeast(l.cniVersion, "0.4.0")) {
      try {
        cached = await this.cachedResult(l.name, l.cniVersion, rt);
      } catch {
        await this.cacheDel(l.name, rt);
        cached = undefined;
      }
    }
    for (const plugin of [...l.plugins].reverse()) {
      try {
        const path = await this.findInPath(plugin.type);
        await this.execPlugin(plugin.type, path, buildOneConfig(l, plugin, cached, rt), this.env("DEL", rt));
      } catch (err) {
        throw wrap(err, `plugin ${describePlugin(plugin)} failed (delete)`);
      }
    }
    await this.cacheDel(l.name, rt);
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
      cachedAttachments = await this.getCachedAttachments("");
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
          const path = await this.findInPath(plugin.type);
          await this.execPlugin(
            plugin.type,
            path,
            marshal({ ...plugin.conf, ...inject }),
            this.bareEnv("GC"),
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
      const path = await this.findInPath(plugin.type);
      const stdin = marshal({ ...plugin.conf, name: l.name, cniVersion: l.cniVersion });
      await this.execPlugin(plugin.type, path, stdin, this.bareEnv("STATUS"));
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
        const supported = await this.getVersionInfo(plugin.type);
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
  async getVersionInfo(pluginType: string): Promise<string[]> {
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
      stdout = await this.execPlugin(pluginType, path, `{"cniVersion":${goString(CURRENT_VERSION)}}`, env);
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

  // -- the cache ------------------------------------------------------------------------------------------

  /** The cache file of an attachment: <cacheDir>/results/<network>-<containerID>-<ifName>. */
  cacheFilePath(netName: string, rt: Pick<RuntimeConf, "containerId" | "ifName">): string {
    if (netName === "" || rt.containerId === "" || rt.ifName === "")
      throw new Error(
        `cache file path requires network name (${JSON.stringify(netName)}), container ID ` +
          `(${JSON.stringify(rt.containerId)}), and interface name (${JSON.stringify(rt.ifName)})`,
      );
    return join(this.opts.cacheDir, "results", `${netName}-${rt.containerId}-${rt.ifName}`);
  }

  /** GetNetworkListCachedResult: the cached ADD result in the list's version; null when none is cached. */
  async getCachedResult(input: ListInput, rt: RuntimeConf): Promise<Record<string, unknown> | null> {
    const l = parseList(input);
    const r = await this.cachedResult(l.name, l.cniVersion, rt);
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
    let text: string;
    try {
      text = await readFile(this.cacheFilePath(l.name, rt), "utf8");
    } catch {
      return null;
    }
    let info: CachedInfo;
    try {
      info = decodeCachedInfo(text);
    } catch (err) {
      throw new Error(
        `failed to unmarshal cached network ${JSON.stringify(l.name)} config: ${message(err)}`,
        {
          cause: err,
        },
      );
    }
    if (info.kind !== "cniCacheV1")
      throw new Error(`read cached network ${JSON.stringify(l.name)} config has wrong kind: ${info.kind}`);
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
  async getCachedAttachments(containerId = ""): Promise<NetworkAttachment[]> {
    const dir = join(this.opts.cacheDir, "results");
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

  private async cacheAdd(result: Result | undefined, l: ParsedList, rt: RuntimeConf): Promise<void> {
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
    const file = this.cacheFilePath(l.name, rt);
    await mkdir(join(this.opts.cacheDir, "results"), { recursive: true, mode: 0o700 });
    await writeFile(file, marshal(cached), { mode: 0o600 });
  }

  private async cacheDel(netName: string, rt: RuntimeConf): Promise<void> {
    let file: string;
    try {
      file = this.cacheFilePath(netName, rt);
    } catch {
      return;
    }
    await rm(file, { force: true }).catch(() => undefined);
  }

  /** getCachedResult: undefined when no cache file can be read; a v1 entry, or else a bare legacy result. */
  private async cachedResult(
    netName: string,
    cniVersion: string,
    rt: RuntimeConf,
  ): Promise<Result | undefined> {
    const file = this.cacheFilePath(netName, rt);
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
    const version = isObj(raw) ? str(field(raw, "cniVersion"), "Result.cniVersion") : "";
    const result = createResult(version === "" ? "0.1.0" : version, raw);
    try {
      return convertResult(result, cniVersion);
    } catch (err) {
      throw new Error(
        `failed to convert cached result to config version ${JSON.stringify(cniVersion)}: ${message(err)}`,
        { cause: err },
      );
    }
  }

  // -- exec -----------------------------------------------------------------------------------------------

  private get cniPath(): string {
    return this.opts.pluginDirs.join(":");
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 30_000;
  }

  private env(command: CniEnv["command"], rt: RuntimeConf): CniEnv {
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
  private bareEnv(command: "GC" | "STATUS"): CniEnv {
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

  /** RawExec.ExecPlugin: stdout on exit 0; otherwise a CniError decoded as libcni's pluginErr does. */
  private async execPlugin(plugin: string, path: string, stdin: string, env: CniEnv): Promise<string> {
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
        : `exit status ${String(r.exitCode)}`) +
        (r.timedOut ? ` (timed out after ${this.timeoutMs} ms)` : "");
    const base = { exitCode: r.exitCode, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
    if (r.stdout === "") {
      const msg =
        r.stderr === ""
          ? `netplugin failed with no error message: ${why}`
          : `netplugin failed: ${JSON.stringify(r.stderr)}: ${why}`;
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
