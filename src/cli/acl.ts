/** `--acl action=block,dir=in,proto=tcp,lport=22`: one ACL rule on the command line, to the API's settings. */
import { isIP } from "node:net";
import type { AclSettings } from "../policies/acl.js";
import { UsageError } from "./errors.js";

export const aclSyntax =
  "action=allow|block,dir=in|out[,proto=P][,laddr=A][,raddr=A][,lport=N][,rport=N][,prio=N]";

const keys = ["action", "dir", "proto", "laddr", "raddr", "lport", "rport", "prio"] as const;
type Key = (typeof keys)[number];
const isKey = (key: string): key is Key => (keys as readonly string[]).includes(key);

/** The protocol names hostnetd knows; the API shows protocols as numbers. */
export const protocolNumbers: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

const defaultPriority = 100;
const maxPriority = 65500;

function isAddressOrPrefix(text: string): boolean {
  const [address = "", length, ...rest] = text.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return length === undefined || (/^\d{1,3}$/.test(length) && Number(length) <= (family === 4 ? 32 : 128));
}

/**
 * Reads a rule and returns its settings in the form hostnetd shows them (see AclSettings), so that a rule
 * given to `policy rm --acl` is written exactly as the one `policy add --acl` sent.
 * @example
 * parseAcl("action=block,dir=in,proto=tcp,lport=22+8000-8080")
 * // { Action: "Block", Direction: "In", Protocols: "6", LocalAddresses: "", RemoteAddresses: "",
 * //   LocalPorts: "22,8000-8080", RemotePorts: "", Priority: 100 }
 */
export function parseAcl(text: string): AclSettings {
  const fail = (reason: string): UsageError => new UsageError(`--acl "${text}": ${reason}`);
  const given = new Map<Key, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) throw fail(`"${part}" is not KEY=VALUE (keys: ${keys.join(", ")})`);
    const key = part.slice(0, eq);
    if (!isKey(key)) throw fail(`unknown key "${key}" (keys: ${keys.join(", ")})`);
    if (given.has(key)) throw fail(`${key} is given twice`);
    given.set(key, part.slice(eq + 1));
  }

  // `+` joins several values of one key, since `,` already separates the keys.
  const each = <T>(key: Key, read: (value: string) => T | undefined, expected: string): T[] => {
    const value = given.get(key);
    if (value === undefined) return [];
    return value.split("+").map((v) => {
      const parsed = read(v);
      if (parsed === undefined) throw fail(`${key} "${v}" is not ${expected}`);
      return parsed;
    });
  };
  const oneOf = <T extends string>(key: Key, choices: Readonly<Record<string, T>>): T => {
    const value = given.get(key);
    const names = Object.keys(choices).join(" or ");
    if (value === undefined) throw fail(`missing ${key}=${Object.keys(choices).join("|")}`);
    const choice = choices[value.toLowerCase()];
    if (choice === undefined) throw fail(`${key} "${value}" is not ${names}`);
    return choice;
  };

  const action = oneOf("action", { allow: "Allow", block: "Block" });
  const direction = oneOf("dir", { in: "In", out: "Out" });
  const protocols = each(
    "proto",
    (p) =>
      protocolNumbers[p.toLowerCase()] ?? (/^\d{1,3}$/.test(p) && Number(p) <= 255 ? Number(p) : undefined),
    `${Object.keys(protocolNumbers).join(", ")} or a protocol number from 0 to 255`,
  );
  const addresses = (key: Key): string[] =>
    each(key, (a) => (isAddressOrPrefix(a) ? a : undefined), "an IP address or prefix");
  const ports = (key: Key): string[] =>
    each(
      key,
      (p) => {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
        const from = Number(m?.[1]);
        const to = m?.[2] === undefined ? from : Number(m[2]);
        if (m === null || from < 1 || to > 65535 || from > to) return undefined;
        // hostnetd shows a one-port range as the port alone.
        return from === to ? String(from) : `${from}-${to}`;
      },
      "a port or range from 1 to 65535, e.g. 80 or 8000-8080",
    );
  const prio = given.get("prio") ?? String(defaultPriority);
  const priority = /^\d{1,5}$/.test(prio) ? Number(prio) : NaN;
  if (!(priority >= 1 && priority <= maxPriority))
    throw fail(`prio "${prio}" is not a number from 1 to ${maxPriority}`);

  const settings: AclSettings = {
    Action: action,
    Direction: direction,
    Protocols: protocols.join(","),
    LocalAddresses: addresses("laddr").join(","),
    RemoteAddresses: addresses("raddr").join(","),
    LocalPorts: ports("lport").join(","),
    RemotePorts: ports("rport").join(","),
    Priority: priority,
  };
  const hasPorts = settings.LocalPorts !== "" || settings.RemotePorts !== "";
  if (hasPorts && !protocols.every((p) => p === 6 || p === 17))
    throw fail("lport and rport need proto to be tcp and/or udp");
  return settings;
}
