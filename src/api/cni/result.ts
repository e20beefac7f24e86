/**
 * CNI results: read (prevResult, in the config's version) into one internal form, merged with hostnet's
 * interface, and written in the requested version's format. 0.3.x and 0.4.0 give each IP a `version`;
 * 1.0.0 dropped it. Everything else of a result passes through untouched.
 */
export interface Dns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

interface ResultInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox?: string;
  readonly [extra: string]: unknown;
}

interface ResultIp {
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
  readonly [extra: string]: unknown;
}

interface ResultRoute {
  readonly dst: string;
  readonly gw?: string;
  readonly [extra: string]: unknown;
}

export interface Result {
  readonly interfaces: readonly ResultInterface[];
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
  readonly dns?: Dns;
}

const array = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** A prevResult of any supported version; `version` of 0.x IPs is dropped, being derived on output. */
export function readResult(raw: Record<string, unknown>): Result {
  const ips = array<Record<string, unknown>>(raw["ips"]).map(
    (ip) =>
      Object.fromEntries(Object.entries(ip).filter(([key]) => key !== "version")) as unknown as ResultIp,
  );
  const dns = raw["dns"];
  return {
    interfaces: array<ResultInterface>(raw["interfaces"]),
    ips,
    routes: array<ResultRoute>(raw["routes"]),
    ...(typeof dns === "object" && dns !== null ? { dns: dns } : {}),
  };
}

/** Appends hostnet's part to what earlier plugins of a chain produced, re-pointing its IPs' interfaces. */
export function mergeResults(previous: Result | undefined, own: Result): Result {
  if (previous === undefined) return own;
  const offset = previous.interfaces.length;
  const dns = own.dns ?? previous.dns;
  return {
    interfaces: [...previous.interfaces, ...own.interfaces],
    ips: [
      ...previous.ips,
      ...own.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + offset })),
    ],
    routes: [...previous.routes, ...own.routes],
    ...(dns === undefined ? {} : { dns }),
  };
}

export function writeResult(result: Result, cniVersion: string): Record<string, unknown> {
  const legacy = cniVersion.startsWith("0.");
  return {
    cniVersion,
    interfaces: result.interfaces,
    ips: legacy
      ? result.ips.map((ip) => ({ version: ip.address.includes(":") ? "6" : "4", ...ip }))
      : result.ips,
    routes: result.routes,
    dns: result.dns ?? {},
  };
}
