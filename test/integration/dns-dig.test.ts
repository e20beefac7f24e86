/**
 * DNS with dig (bind9-dnsutils) and a real upstream: hostnet's resolver answers A, AAAA and PTR of its
 * endpoints over UDP and TCP, and forwards the rest to dnsmasq (dnsmasq-base) in the "external" namespace:
 * a name only dnsmasq knows, with its TTL, and an answer too big for UDP, truncated there and whole over TCP.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { startDnsmasq } from "../helpers/dnsmasq.js";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";

const RESOLVER4 = "10.58.0.1";
const RESOLVER6 = "fd58::1";
/** What dnsmasq gives its own names (--local-ttl): hostnet's answers have TTL 0, so this one is upstream's. */
const UPSTREAM_TTL = 321;
/** A records of one name: 16 bytes each, over the 1232 bytes of dig's EDNS buffer. */
const MANY = 100;

/** What dnsmasq knows: a name only it has, and one with MANY addresses. */
const UPSTREAM_RECORDS = {
  "only-upstream.test": "192.0.2.77",
  "many.test": Array.from({ length: MANY }, (_, i) => `198.51.${String(100 + (i >> 8))}.${String(i & 255)}`),
};

describe.skipIf(needsRoot)("DNS: dig, and dnsmasq as the upstream", () => {
  const lab = useLab();
  let a: EndpointBody;
  const dig = (server: string, ...args: string[]) =>
    run(inNs(lab.t.ns("b"), ["dig", "+tries=1", "+time=3", `@${server}`, ...args]));
  const short = async (server: string, ...args: string[]) =>
    (await dig(server, "+short", ...args)).stdout.trim();
  const addressOf = (ep: EndpointBody, family: 4 | 6) =>
    ep.IpConfigurations.map((c) => c.IpAddress).find((ip) => ip.includes(":") === (family === 6)) ?? "?";

  beforeAll(async () => {
    lab.cleanup.track(
      await startDnsmasq(lab.t.ext, lab.t.extIp4, UPSTREAM_RECORDS, { localTtl: UPSTREAM_TTL }),
    );
    await lab.network("digs", ["10.58.0.0/24", "fd58::/64"], {
      Dns: { Domain: "dig.test", ServerList: [lab.t.extIp4] },
    });
    a = await lab.container("a", "digs", { Aliases: ["db"] });
    await lab.container("b", "digs");
  });

  it("answers A, AAAA and PTR of an endpoint over UDP and TCP", async () => {
    for (const transport of ["+notcp", "+tcp"])
      for (const server of [RESOLVER4, RESOLVER6]) {
        const where = `${transport} @${server}`;
        // -q: dig would take a bare "a" for the record type.
        expect(await short(server, transport, "-t", "A", "-q", "a"), where).toBe(addressOf(a, 4));
        expect(await short(server, transport, "-t", "AAAA", "-q", "db.dig.test"), where).toBe(
          addressOf(a, 6),
        );
        expect(await short(server, transport, "-x", addressOf(a, 4)), where).toBe("a.dig.test.");
        expect(await short(server, transport, "-x", addressOf(a, 6)), where).toBe("a.dig.test.");
      }
  });

  it("answers with TTL 0 and the authoritative flag; an unknown name is NXDOMAIN", async () => {
    const answer = (await dig(RESOLVER4, "+noall", "+answer", "+comments", "a.dig.test")).stdout;
    expect(answer).toMatch(/;; flags: qr aa rd ra;/);
    expect(answer).toMatch(
      new RegExp(`^a\\.dig\\.test\\.\\s+0\\s+IN\\s+A\\s+${addressOf(a, 4).replaceAll(".", "\\.")}$`, "m"),
    );
    expect((await dig(RESOLVER4, "nobody")).stdout).toContain("status: NXDOMAIN");
  });

  it("forwards a name only the upstream knows, with the upstream's TTL, over UDP and TCP", async () => {
    for (const transport of ["+notcp", "+tcp"]) {
      const answer = (await dig(RESOLVER4, transport, "+noall", "+answer", "only-upstream.test")).stdout;
      expect(answer, transport).toMatch(
        new RegExp(
          `^only-upstream\\.test\\.\\s+${String(UPSTREAM_TTL)}\\s+IN\\s+A\\s+192\\.0\\.2\\.77$`,
          "m",
        ),
      );
    }
  });

  it("passes a truncated answer on over UDP, and the whole answer over TCP", async () => {
    const udp = (await dig(RESOLVER4, "+notcp", "+ignore", "+comments", "many.test")).stdout;
    expect(udp).toMatch(/;; flags: qr [a-z ]*\btc\b[a-z ]*;/);
    const tcp = (await dig(RESOLVER4, "+tcp", "+noall", "+answer", "many.test")).stdout;
    const records = tcp.split("\n").filter((line) => /^many\.test\.\s+\d+\s+IN\s+A\s/.test(line));
    expect(records).toHaveLength(MANY);
    // dig's own retry over TCP after the truncated UDP answer: as a client does by default.
    expect((await short(RESOLVER4, "many.test")).split("\n")).toHaveLength(MANY);
  });
});
