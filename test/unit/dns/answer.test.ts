/** The resolver's own answers, to queries as dns-packet encodes them and clients send them. */
import { decode, encode, RECURSION_DESIRED, type DecodedPacket, type RecordType } from "dns-packet";
import { describe, expect, it } from "vitest";
import {
  answerFromNetwork,
  onNetwork,
  refused,
  serverFailure,
  type NameBook,
} from "../../../src/dns/answer.js";
import type { Endpoint, Network } from "../../../src/model/types.js";
import { dualNet, endpointOf, v4Net } from "../modes/samples.js";

const net: Network = { ...dualNet, dns: { ...dualNet.dns, domain: "lab.test" } };
const web = { ...endpointOf(net, { host: 5 }), name: "web", aliases: ["db"] };
const v4Only = { ...endpointOf(v4Net, { host: 9 }), name: "old" };

/** The store's names, as storeNameBook reads them, of these endpoints. */
function book(...endpoints: Endpoint[]): NameBook {
  const nets = new Map([net, v4Net].map((n) => [n.id, n]));
  const of = (networkId: string) => endpoints.filter((ep) => ep.networkId === networkId);
  return {
    version: () => 0,
    network: (id) => nets.get(id),
    addresses: (networkId, name) =>
      of(networkId)
        .find((ep) => ep.name.toLowerCase() === name || ep.aliases.includes(name))
        ?.addresses.map((a) => a.address),
    nameOf: (networkId, address) =>
      of(networkId).find((ep) => ep.addresses.some((a) => a.address === address))?.name,
  };
}
const names = book(web, v4Only);

/** A query as a client sends it, read back as the resolver reads it. */
const query = (name: string, type: RecordType, klass: "IN" | "CH" = "IN"): DecodedPacket =>
  decode(
    encode({ type: "query", id: 4242, flags: RECURSION_DESIRED, questions: [{ name, type, class: klass }] }),
  );

/** The answer as the client reads it, with its rcode (the header's low four bits). */
function ask(name: string, type: RecordType, network: Network = net) {
  const answer = answerFromNetwork(query(name, type), network, names);
  if (answer === undefined) return undefined;
  const packet = decode(encode(answer));
  return { ...packet, rcode: (packet.flags ?? 0) & 0xf };
}

const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;
const REFUSED = 5;

describe("answerFromNetwork", () => {
  it("answers A by endpoint name with TTL 0, authoritative, echoing the id and RD", () => {
    const answer = ask("web", "A");
    expect(answer).toMatchObject({
      type: "response",
      id: 4242,
      rcode: NOERROR,
      flag_aa: true,
      flag_rd: true,
      flag_ra: true,
      questions: [{ name: "web", type: "A", class: "IN" }],
      answers: [{ name: "web", type: "A", class: "IN", ttl: 0, data: "10.88.0.5" }],
    });
  });

  it("answers AAAA with the endpoint's IPv6 address", () => {
    expect(ask("web", "AAAA")?.answers).toEqual([
      expect.objectContaining({ type: "AAAA", ttl: 0, data: "fd88::5" }),
    ]);
  });

  it("answers by alias and by NAME.DOMAIN, in any case, with the name asked", () => {
    expect(ask("db", "A")?.answers).toEqual([expect.objectContaining({ name: "db", data: "10.88.0.5" })]);
    expect(ask("WEB.Lab.Test", "A")?.answers).toEqual([
      expect.objectContaining({ name: "WEB.Lab.Test", data: "10.88.0.5" }),
    ]);
    expect(ask("db.lab.test.", "A")?.answers).toEqual([expect.objectContaining({ data: "10.88.0.5" })]);
  });

  it("answers AAAA of an endpoint with IPv4 only with no records, not NXDOMAIN", () => {
    expect(ask("old", "AAAA", v4Net)).toMatchObject({ rcode: NOERROR, answers: [] });
    expect(ask("old", "A", v4Net)?.answers).toEqual([expect.objectContaining({ data: "172.20.0.9" })]);
  });

  it("answers a type other than A and AAAA of a known name with no records", () => {
    expect(ask("web", "MX")).toMatchObject({ rcode: NOERROR, answers: [] });
  });

  it("answers PTR of an IPv4 address with NAME.DOMAIN, and without a domain with the name", () => {
    expect(ask("5.0.88.10.in-addr.arpa", "PTR")?.answers).toEqual([
      expect.objectContaining({ type: "PTR", name: "5.0.88.10.in-addr.arpa", ttl: 0, data: "web.lab.test" }),
    ]);
    expect(ask("9.0.20.172.in-addr.arpa", "PTR", v4Net)?.answers).toEqual([
      expect.objectContaining({ data: "old" }),
    ]);
  });

  it("answers PTR of an IPv6 address by its nibbles", () => {
    const nibbles = `5.0.0.0.${"0.".repeat(24)}8.8.d.f.ip6.arpa`;
    expect(ask(nibbles, "PTR")?.answers).toEqual([expect.objectContaining({ data: "web.lab.test" })]);
  });

  it("is NXDOMAIN for a PTR of the network's subnets that no endpoint holds", () => {
    expect(ask("77.0.88.10.in-addr.arpa", "PTR")).toMatchObject({
      rcode: NXDOMAIN,
      flag_aa: true,
      answers: [],
    });
  });

  it("forwards a PTR outside the network's subnets, and one that is not an address", () => {
    expect(ask("8.8.8.8.in-addr.arpa", "PTR")).toBeUndefined();
    expect(ask("0.88.10.in-addr.arpa", "PTR")).toBeUndefined();
  });

  it("is NXDOMAIN for an unknown single label or name under the domain, never forwarded", () => {
    expect(ask("nobody", "A")).toMatchObject({ rcode: NXDOMAIN, flag_aa: true, answers: [] });
    expect(ask("nobody.lab.test", "AAAA")).toMatchObject({ rcode: NXDOMAIN });
  });

  it("forwards an unknown dotted name, and a class other than IN", () => {
    expect(ask("example.org", "A")).toBeUndefined();
    expect(answerFromNetwork(query("web", "A", "CH"), net, names)).toBeUndefined();
  });

  it("does not answer another network's names: NXDOMAIN", () => {
    expect(ask("old", "A")).toMatchObject({ rcode: NXDOMAIN });
    expect(ask("web", "A", v4Net)).toMatchObject({ rcode: NXDOMAIN });
  });
});

describe("onNetwork, refused and serverFailure", () => {
  it("takes clients with an address in the network's subnets, IPv4-mapped ones too", () => {
    expect(onNetwork(net, "10.88.0.5")).toBe(true);
    expect(onNetwork(net, "::ffff:10.88.0.5")).toBe(true);
    expect(onNetwork(net, "fd88::77")).toBe(true);
  });

  it("refuses clients off the network, and what is no address", () => {
    expect(onNetwork(net, "172.20.0.9")).toBe(false);
    expect(onNetwork(net, "192.0.2.1")).toBe(false);
    expect(onNetwork(net, "")).toBe(false);
  });

  it("answers REFUSED and SERVFAIL with the question and no records", () => {
    const q = query("web", "A");
    for (const [reply, rcode] of [
      [refused(q), REFUSED],
      [serverFailure(q), SERVFAIL],
    ] as const) {
      const packet = decode(encode(reply));
      expect(packet).toMatchObject({ id: 4242, flag_aa: false, flag_rd: true, answers: [] });
      expect(packet.questions).toEqual(q.questions);
      expect((packet.flags ?? 0) & 0xf).toBe(rcode);
    }
  });
});
