/**
 * The resolver's answers from the store: A, AAAA and PTR for a network's endpoints by name, alias and
 * NAME.DOMAIN, with TTL 0 so that a deleted endpoint's name is gone at once. Pure but for the lookups it is
 * handed; what it does not answer (`undefined`) is forwarded.
 */
import {
  AUTHORITATIVE_ANSWER,
  RECURSION_AVAILABLE,
  RECURSION_DESIRED,
  type Answer,
  type DecodedPacket,
  type Packet,
} from "dns-packet";
import { contains, familyOfAddress, parseIp, parsePrefix, type Ip, type Prefix } from "../model/ip.js";
import type { Network } from "../model/types.js";

/** What the resolver asks of the store about one network. */
export interface NameBook {
  /** A number that changes whenever any answer below may have: what was read stays true while it holds. */
  version(): number;
  /** The network, as the store has it now; undefined once it is deleted. */
  network(id: string): Network | undefined;
  /** The addresses of the endpoint of the network with this name or alias, if there is one. */
  addresses(networkId: string, name: string): readonly string[] | undefined;
  /** The name of the endpoint of the network that holds this address. */
  nameOf(networkId: string, address: string): string | undefined;
}

const rcode = { noError: 0, serverFailure: 2, nameError: 3, refused: 5 } as const;

function reply(query: DecodedPacket, code: number, answers: Answer[] = []): Packet {
  return {
    type: "response",
    id: query.id ?? 0,
    flags:
      ((query.flags ?? 0) & RECURSION_DESIRED) |
      RECURSION_AVAILABLE |
      (answers.length > 0 || code === rcode.nameError ? AUTHORITATIVE_ANSWER : 0) |
      code,
    questions: query.questions ?? [],
    answers,
  };
}

export const refused = (query: DecodedPacket): Packet => reply(query, rcode.refused);
export const serverFailure = (query: DecodedPacket): Packet => reply(query, rcode.serverFailure);

/** The address a reverse name stands for (`4.3.2.1.in-addr.arpa`, ip6.arpa's nibbles), if it is one. */
function reverseAddress(name: string): Ip | undefined {
  let text: string | undefined;
  if (name.endsWith(".in-addr.arpa")) {
    const parts = name.slice(0, -".in-addr.arpa".length).split(".");
    text = parts.length === 4 ? parts.reverse().join(".") : undefined;
  } else if (name.endsWith(".ip6.arpa")) {
    const nibbles = name.slice(0, -".ip6.arpa".length).split(".");
    text = nibbles.length === 32 ? nibbles.reverse().join("").match(/.{4}/g)?.join(":") : undefined;
  }
  try {
    return text === undefined ? undefined : parseIp("ptr", text);
  } catch {
    return undefined;
  }
}

/** Subnets parsed once: every query asks whether an address is in them, and parsing costs more than the rest. */
const parsedPrefixes = new Map<string, Prefix>();
function inSubnets(net: Network, ip: Ip): boolean {
  return net.subnets.some((s) => {
    let prefix = parsedPrefixes.get(s.prefix);
    if (prefix === undefined) {
      // Bounded: deleted networks' subnets would pile up in a daemon that runs for months.
      if (parsedPrefixes.size >= 4096) parsedPrefixes.clear();
      prefix = parsePrefix("subnet", s.prefix);
      parsedPrefixes.set(s.prefix, prefix);
    }
    return contains(prefix, ip);
  });
}

/** Whether `client` is on the network: only its endpoints may ask it. */
export const onNetwork = (net: Network, client: string): boolean => {
  try {
    return inSubnets(net, parseIp("client", client.replace(/^::ffff:(?=\d+\.)/, "")));
  } catch {
    return false;
  }
};

/**
 * The answer to `query` from the network's own names, or undefined for a name to forward. A single label or a
 * name under the network's domain is the network's to answer: no such endpoint is NXDOMAIN, not a question
 * for the upstream servers.
 */
export function answerFromNetwork(query: DecodedPacket, net: Network, book: NameBook): Packet | undefined {
  const question = query.questions?.[0];
  if (question?.class !== "IN") return undefined;
  const name = question.name.toLowerCase().replace(/\.$/, "");
  const domain = net.dns.domain;
  if (question.type === "PTR") {
    const address = reverseAddress(name);
    if (address === undefined || !inSubnets(net, address)) return undefined;
    const owner = book.nameOf(net.id, address.address);
    if (owner === undefined) return reply(query, rcode.nameError);
    const data = domain === null ? owner : `${owner}.${domain}`;
    return reply(query, rcode.noError, [{ type: "PTR", name: question.name, ttl: 0, class: "IN", data }]);
  }
  const local = domain !== null && name.endsWith(`.${domain}`) ? name.slice(0, -domain.length - 1) : name;
  const addresses = book.addresses(net.id, local);
  if (addresses === undefined)
    return local !== name || !name.includes(".") ? reply(query, rcode.nameError) : undefined;
  const family = question.type === "A" ? 4 : question.type === "AAAA" ? 6 : undefined;
  const answers = addresses
    .filter((a) => familyOfAddress(a) === family)
    .map((data): Answer => ({
      type: family === 4 ? "A" : "AAAA",
      name: question.name,
      ttl: 0,
      class: "IN",
      data,
    }));
  return reply(query, rcode.noError, answers);
}
