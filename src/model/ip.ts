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

/** An address as a prefix of itself alone: `/32` or `/128`. */
export const hostCidr = (a: string): string => `${a}/${familyOfAddress(a) === 4 ? 32 : 128}`;

function parseAddress(text: string): Address4 | Address6 | undefined {
  try {
    if (text.includes(":")) return new Address6(text);
    // No leading zeros: some parsers read 010 as octal 8, others as 10; refused rather than guessed.
    if (/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}(\/(0|[1-9]\d{0,2}))?$/.test(text))
      return new Address4(text);
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

/** A range of addresses with a special use, which no network's subnet may touch. */
export interface SpecialRange {
  readonly kind: "unspecified" | "loopback" | "link-local" | "multicast" | "broadcast";
  /** The range in words, for messages. */
  readonly what: string;
}

const specialRanges = (
  [
    ["0.0.0.0/8", "unspecified", "unspecified (0.0.0.0/8)"],
    ["127.0.0.0/8", "loopback", "loopback (127.0.0.0/8)"],
    ["169.254.0.0/16", "link-local", "link-local (169.254.0.0/16)"],
    ["224.0.0.0/4", "multicast", "multicast (224.0.0.0/4)"],
    ["255.255.255.255/32", "broadcast", "the broadcast address"],
    ["::/128", "unspecified", "unspecified (::)"],
    ["::1/128", "loopback", "loopback (::1)"],
    ["fe80::/10", "link-local", "link-local (fe80::/10)"],
    ["ff00::/8", "multicast", "multicast (ff00::/8)"],
  ] as const
).map(([cidr, kind, what]) => ({ prefix: parsePrefix("range", cidr), kind, what }));

/** The special range a prefix overlaps, if it overlaps one. */
export const specialRangeOf = (p: Prefix): SpecialRange | undefined =>
  specialRanges.find((r) => overlaps(r.prefix, p));

/** The special range an address is in, if it is in one. */
export const specialRangeOfIp = (ip: Ip): SpecialRange | undefined =>
  specialRanges.find((r) => contains(r.prefix, ip));

/**
 * Why an address cannot be a VIP or a source address: unspecified, broadcast, multicast or loopback.
 * A link-local one can (169.254.169.254 is a well-known service VIP).
 */
export function notUnicast(ip: Ip): string | undefined {
  const range = specialRangeOfIp(ip);
  return range === undefined || range.kind === "link-local" ? undefined : range.what;
}
