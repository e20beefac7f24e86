/**
 * CNI results as libcni (containernetworking/cni v1.3.0) holds them: decoded into the typed Result of their
 * spec version (pkg/types/020, 040 and 100, which drop unknown keys and print addresses as net.IP and
 * net.IPNet do), written back as json.Marshal writes them, and converted between versions as the
 * converters in pkg/types/internal chain them.
 */
import { isIPv4, isIPv6 } from "node:net";
import {
  field,
  int,
  isObj,
  jsonKind,
  list,
  marshal,
  record,
  str,
  strs,
  struct,
  type Obj,
} from "./go-json.js";

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

// Results

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
export type Result =
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

export function decodeDns(v: unknown, path: string): Dns {
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
export function createResult(version: string, raw: unknown): Result {
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
export function resultJson(r: Result): Obj {
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

export const resultObject = (r: Result): Record<string, unknown> => JSON.parse(marshal(resultJson(r))) as Obj;

const copyDns = (d: Dns): Dns => ({
  nameservers: [...d.nameservers],
  domain: d.domain,
  search: [...d.search],
  options: [...d.options],
});

/** Result.GetAsVersion(to), following the converters libcni registers. */
export function convertResult(r: Result, toVersion: string): Result {
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

/** create.CreateFromBytes: the typed Result of the version `raw` names (0.1.0 when it names none). */
export function createFromJson(raw: unknown): Result {
  const version = isObj(raw) ? str(field(raw, "cniVersion"), "Result.cniVersion") : "";
  return createResult(version === "" ? "0.1.0" : version, raw);
}
