/** The DNS options of `network create` and `endpoint create`: HNS's Dns of the request. */
import type { NetworkRequest } from "../api/rest/wire.js";
import type { OptionSpecs, Values } from "./command.js";

export const dnsOptions = {
  dns: {
    type: "string",
    multiple: true,
    arg: "IP",
    description:
      "Nameserver (up to 3): of a network, where its resolver forwards (or, with --no-dns, what resolv.conf names); of an endpoint, what its resolv.conf names",
  },
  "dns-search": { type: "string", multiple: true, arg: "DOMAIN", description: "Search domain (up to 6)" },
  "dns-option": {
    type: "string",
    multiple: true,
    arg: "OPT",
    description: "resolv.conf option, e.g. ndots:2",
  },
  "dns-domain": {
    type: "string",
    arg: "DOMAIN",
    description: "Domain: the search domain when --dns-search is not given",
  },
} as const satisfies OptionSpecs;

/** The request's Dns, or nothing when no option gives any part of it. */
export function dnsOf(values: Values<typeof dnsOptions>): Pick<NetworkRequest, "Dns"> {
  const dns = {
    ...(values["dns-domain"] === undefined ? {} : { Domain: values["dns-domain"] }),
    ...(values["dns-search"] === undefined ? {} : { Search: values["dns-search"] }),
    ...(values.dns === undefined ? {} : { ServerList: values.dns }),
    ...(values["dns-option"] === undefined ? {} : { Options: values["dns-option"] }),
  };
  return Object.keys(dns).length === 0 ? {} : { Dns: dns };
}
