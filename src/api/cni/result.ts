/**
 * CNI results: read (prevResult, in the config's version) into one internal form, merged with hostnet's
 * interface, and written in the requested version's format. 0.3.x and 0.4.0 give each IP a `version`;
 * 1.0.0 dropped it. Everything else of a result passes through untouched.
 */
import { Type, type Static } from "typebox";
import { Value } from "typebox/value";
import { invalidArgument } from "../../errors.js";
import { parseIp, parsePrefix } from "../../model/ip.js";

export interface Dns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

const text = Type.String({ minLength: 1 });
/** A result as the spec (1.0.0, and 0.3.x/0.4.0 with `version`) lays it out; keys of newer specs pass. */
const resultSchema = Type.Object({
  interfaces: Type.Optional(
    Type.Array(
      Type.Object({
        name: text,
        mac: Type.Optional(Type.String()),
        mtu: Type.Optional(Type.Integer({ minimum: 0 })),
        sandbox: Type.Optional(Type.String()),
      }),
    ),
  ),
  ips: Type.Optional(
    Type.Array(
      Type.Object({
        address: text,
        gateway: Type.Optional(text),
        interface: Type.Optional(Type.Integer({ minimum: 0 })),
      }),
    ),
  ),
  routes: Type.Optional(Type.Array(Type.Object({ dst: text, gw: Type.Optional(text) }))),
  dns: Type.Optional(Type.Object({})),
});
type RawResult = Static<typeof resultSchema>;
type ResultInterface = NonNullable<RawResult["interfaces"]>[number];
type ResultIp = NonNullable<RawResult["ips"]>[number];
type ResultRoute = NonNullable<RawResult["routes"]>[number];

export interface Result {
  readonly interfaces: readonly ResultInterface[];
  readonly ips: readonly ResultIp[];
  readonly routes: readonly ResultRoute[];
  readonly dns?: Dns;
}

/** `/ips/0/address` as the configuration's key `prevResult.ips[0].address`. */
const keyOf = (pointer: string): string =>
  `prevResult${pointer.replace(/\/(\d+)/g, "[$1]").replaceAll("/", ".")}`;

/**
 * A chain's prevResult of any supported version, refused (naming the key) unless it is one: a plugin that
 * appends to a result it cannot read would hand the runtime a broken one. `version` of 0.x IPs is dropped,
 * being derived on output.
 */
export function readResult(raw: Record<string, unknown>): Result {
  const [first] = Value.Errors(resultSchema, raw);
  if (first !== undefined) throw invalidArgument(keyOf(first.instancePath), first.message);
  const result = raw as RawResult;
  const interfaces = result.interfaces ?? [];
  const ips = (result.ips ?? []).map((ip, i) => {
    parsePrefix(`prevResult.ips[${i}].address`, ip.address);
    if (ip.gateway !== undefined) parseIp(`prevResult.ips[${i}].gateway`, ip.gateway);
    if (ip.interface !== undefined && ip.interface >= interfaces.length)
      throw invalidArgument(`prevResult.ips[${i}].interface`, `names no interface of prevResult.interfaces`);
    return Object.fromEntries(Object.entries(ip).filter(([key]) => key !== "version")) as ResultIp;
  });
  const routes = result.routes ?? [];
  routes.forEach((route, i) => {
    parsePrefix(`prevResult.routes[${i}].dst`, route.dst);
    if (route.gw !== undefined) parseIp(`prevResult.routes[${i}].gw`, route.gw);
  });
  return { interfaces, ips, routes, ...(result.dns === undefined ? {} : { dns: result.dns }) };
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
