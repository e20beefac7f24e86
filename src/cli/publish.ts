/** docker's `-p [HOSTIP:]HOSTPORT:PORT[/PROTO]`, to and from the API's PortMapping settings. */
import { isIPv4, isIPv6 } from "node:net";
import type { PortMappingSettings } from "../policies/port-mapping.js";
import { UsageError } from "./errors.js";

export const publishSyntax = "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]";

// An IPv6 host address needs brackets, or its colons could not be told from the port separators.
const pattern = /^(?:(?<ip>\[[^\]]*\]|[^:[\]]*):)?(?<host>[^:]+):(?<port>[^:/]+)(?:\/(?<proto>[^/]*))?$/;

function port(value: string, text: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65535))
    throw new UsageError(`--publish "${text}": port "${value}" is not a number from 1 to 65535`);
  return n;
}

/**
 * @example
 * parsePublish("127.0.0.1:8080:80/udp") // { Protocol: "UDP", ExternalPort: 8080, InternalPort: 80, VIP: "127.0.0.1" }
 */
export function parsePublish(text: string): PortMappingSettings {
  const m = pattern.exec(text)?.groups;
  if (m === undefined) throw new UsageError(`--publish "${text}" is not ${publishSyntax}`);
  const { ip, host = "", port: internal = "", proto = "tcp" } = m;

  const protocol = proto.toLowerCase();
  if (protocol !== "tcp" && protocol !== "udp")
    throw new UsageError(`--publish "${text}": protocol "${proto}" is not tcp or udp`);

  const settings = {
    Protocol: protocol === "tcp" ? "TCP" : "UDP",
    InternalPort: port(internal, text),
    ExternalPort: port(host, text),
  } as const;
  if (ip === undefined) return settings;

  const bracketed = ip.startsWith("[");
  const address = bracketed ? ip.slice(1, -1) : ip;
  if (bracketed ? !isIPv6(address) : !isIPv4(address))
    throw new UsageError(
      `--publish "${text}": host IP "${ip}" is not an IPv4 address or a bracketed IPv6 address such as [::1]`,
    );
  return { ...settings, VIP: address };
}

/** The inverse, as `docker ps` shows it: `127.0.0.1:8080->80/tcp`; undefined for other policies. */
export function formatPortMapping(type: string, settings: unknown): string | undefined {
  if (type !== "PortMapping" || typeof settings !== "object" || settings === null) return undefined;
  const s = settings as Partial<Record<keyof PortMappingSettings, unknown>>;
  const proto = String(s.Protocol).toLowerCase();
  const protocol = proto === "6" ? "tcp" : proto === "17" ? "udp" : proto;
  const vip = typeof s.VIP === "string" && s.VIP !== "" ? s.VIP : undefined;
  const host = vip === undefined ? "" : vip.includes(":") ? `[${vip}]:` : `${vip}:`;
  return `${host}${String(s.ExternalPort)}->${String(s.InternalPort)}/${protocol}`;
}
