import { Address4, Address6 } from "ip-address";
import { invalidArgument } from "../errors.js";

export type Family = 4 | 6;

/** A parsed prefix in canonical form: host bits cleared, IPv6 compressed. */
export interface Prefix {
  readonly family: Family;
  readonly network: string;
  readonly length: number;
  readonly first: bigint;
  readonly last: bigint;
}

export const cidrOf = (p: Prefix): string => `${p.network}/${p.length}`;

/** The family of an address or prefix in canonical form. */
export const familyOfAddress = (a: string): Family => (a.includes(":") ? 6 : 4);

function parseAddress(text: string): Address4 | Address6 | undefined {
  try {
    if (text.includes(":")) return new Address6(text);
    if (/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,3})?$/.test(text)) return new Address4(text);
  } catch {
    return undefined;
  }
  return undefined;
}

/** Parses "a.b.c.d/n" or "x::/n"; the address may have host bits set (they are cleared). */
export function parsePrefix(field: string, text: string): Prefix {
  if (!text.includes("/")) throw invalidArgument(field, `"${text}" is not a CIDR prefix (missing /length)`);
  const addr = parseAddress(text);
  if (addr === undefined) throw invalidArgument(field, `"${text}" is not a valid CIDR prefix`);
  const start = addr.startAddress();
  const family: Family = addr instanceof Address4 ? 4 : 6;
  return {
    family,
    network: start.correctForm(),
    length: addr.subnetMask,
    first: start.bigInt(),
    last: addr.endAddress().bigInt(),
  };
}

export interface Ip {
  readonly family: Family;
  readonly address: string;
  readonly value: bigint;
}

/** Parses a plain address (no prefix) and returns its canonical text. */
export function parseIp(field: string, text: string): Ip {
  const addr = text.includes("/") ? undefined : parseAddress(text);
  if (addr === undefined) throw invalidArgument(field, `"${text}" is not a valid IP address`);
  return { family: addr instanceof Address4 ? 4 : 6, address: addr.correctForm(), value: addr.bigInt() };
}

export function ipFromValue(family: Family, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

export const contains = (p: Prefix, ip: Ip): boolean =>
  p.family === ip.family && ip.value >= p.first && ip.value <= p.last;

export const overlaps = (a: Prefix, b: Prefix): boolean =>
  a.family === b.family && a.first <= b.last && b.first <= a.last;

/** The usable host range: IPv4 excludes the network and broadcast addresses of prefixes shorter than /31. */
export function hostRange(p: Prefix): { first: bigint; last: bigint } {
  if (p.family === 4 && p.length < 31) return { first: p.first + 1n, last: p.last - 1n };
  if (p.family === 6 && p.length < 127) return { first: p.first + 1n, last: p.last };
  return { first: p.first, last: p.last };
}
