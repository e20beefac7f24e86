/**
 * DNS with dig (bind9-dnsutils) and a real upstream: hostnet's resolver answers A, AAAA and PTR of its
 * endpoints over UDP and TCP, and forwards the rest to dnsmasq (dnsmasq-base) in the "external" namespace:
 * a name only dnsmasq knows, with its TTL, and an answer too big for UDP, truncated there and whole over TCP.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";

const RESOLVER4 = "10.58.0.1";
const RESOLVER6 = "fd58::1";
/** What dnsmasq gives its own names (--local-ttl): hostnet's answers have TTL 0, so this one is upstream's. */
const UPSTREAM_TTL = 321;
/** A records of one name: 16 bytes each, over the 1232 bytes of dig's EDNS buffer. */
const MANY = 100;

/** dnsmasq on `address` in `ns`, knowing only-upstream.test and many.test (MANY addresses); stopped by PID. */
async function startDnsmasq(ns: string, address: string): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "hostnet-dnsmasq-"));
  const hosts = join(dir, "hosts");
  // A pid file of its own, never the machine's /run/dnsmasq.pid.
  const pidFile = join(dir, "dnsmasq.pid");
  const many = Array.from(
    { length: MANY },
    (_, i) => `198.51.${String(100 + (i >> 8))}.${String(i & 255)} many.test`,
  );
  await writeFile(hosts, `192.0.2.77 only-upstream.test\n${many.join("\n")}\n`);
  // nsenter execs dnsmasq: the child's PID is dnsmasq's.
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${ns}`,
      "dnsmasq",
      "--no-daemon",
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      `--listen-address=${address}`,
      "--bind-interfaces",
      `--pid-file=${pidFile}`,
      `--addn-hosts=${hosts}`,
      `--local-ttl=${String(UPSTREAM_TTL)}`,
      "--user=root",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const up = await within(5000, async () => {
    const answer = await run(
      inNs(ns, ["dig", "+short", "+tries=1", "+time=1", `@${address}`, "only-upstream.test"]),
    );
    return answer.stdout.trim() === "192.0.2.77";
  });
  if (up === undefined) {
    await stop();
    throw new Error(`dnsmasq did not answer: ${stderr}`);
  }
  return { stop };
}

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
    lab.cleanup.track(await startDnsmasq(lab.t.ext, lab.t.extIp4));
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
