/**
 * DNS settings as doors hand them in, checked into what the store keeps: server addresses, domain names and
 * resolv.conf options, each refused naming the element at fault.
 */
import { invalidArgument } from "../errors.js";
import { parseIp } from "../model/ip.js";
import { noDns, type DnsSettings } from "../model/types.js";
import type { FieldValue } from "../policies/kind.js";

/** A network's or an endpoint's Dns as a door gives it, each part with the door's path for it. */
export interface DnsSpec {
  readonly domain?: FieldValue<string>;
  readonly search?: FieldValue<readonly string[]>;
  readonly servers?: FieldValue<readonly string[]>;
  readonly options?: FieldValue<readonly string[]>;
}

/** glibc reads three nameservers and six search domains of resolv.conf; more would be silently ignored. */
export const dnsLimits = { servers: 3, search: 6, options: 16, aliases: 16 } as const;

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** `ndots:5`, `rotate`, `edns0`, `no-aaaa`: resolv.conf(5)'s option words, with a number after some. */
const OPTION = /^[a-z][a-z0-9-]*(:[0-9]{1,3})?$/;

/** `text` as a domain name (RFC 1035, with "_" as service names have it), lower case and without a final dot. */
export function domainName(text: string): string | undefined {
  const name = text.toLowerCase().replace(/\.$/, "");
  return name.length === 0 || name.length > 253 || !name.split(".").every((l) => LABEL.test(l))
    ? undefined
    : name;
}

function checkDomainName(field: string, text: string): string {
  const name = domainName(text);
  if (name === undefined)
    throw invalidArgument(
      field,
      `"${text}" is not a domain name (dot-separated labels of 1-63 letters, digits, "-" and "_", at most 253 characters)`,
    );
  return name;
}

function checkList<T>(
  given: FieldValue<readonly string[]> | undefined,
  limit: number,
  check: (field: string, text: string) => T,
): T[] {
  if (given === undefined) return [];
  if (given.value.length > limit)
    throw invalidArgument(given.field, `at most ${limit} (resolv.conf readers ignore the rest)`);
  const seen = new Set<T>();
  return given.value.flatMap((text, i) => {
    const value = check(`${given.field}[${i}]`, text);
    if (seen.has(value)) return [];
    seen.add(value);
    return [value];
  });
}

function checkOption(field: string, text: string): string {
  if (!OPTION.test(text))
    throw invalidArgument(field, `"${text}" is not a resolv.conf option (a word such as rotate, or ndots:5)`);
  return text;
}

export function checkDns(spec: DnsSpec | undefined): DnsSettings {
  if (spec === undefined) return noDns;
  return {
    domain: spec.domain === undefined ? null : checkDomainName(spec.domain.field, spec.domain.value),
    search: checkList(spec.search, dnsLimits.search, checkDomainName),
    servers: checkList(spec.servers, dnsLimits.servers, (field, text) => parseIp(field, text).address),
    options: checkList(spec.options, dnsLimits.options, checkOption),
  };
}

/** More names an endpoint answers to on its network, lower case, without its own name again. */
export function checkAliases(given: FieldValue<readonly string[]> | undefined, name: string): string[] {
  return checkList(given, dnsLimits.aliases, checkDomainName).filter((a) => a !== name.toLowerCase());
}

/** An endpoint's settings over its network's: each part the endpoint gives replaces the network's. */
export function effectiveDns(own: DnsSettings, network: DnsSettings): DnsSettings {
  return {
    domain: own.domain ?? network.domain,
    search: own.search.length > 0 ? own.search : network.search,
    servers: own.servers.length > 0 ? own.servers : network.servers,
    options: own.options.length > 0 ? own.options : network.options,
  };
}
