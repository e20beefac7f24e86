/**
 * Forwarding to upstreams: real UDP and TCP sockets on 127.0.0.1 (loopback only, a port the kernel picks),
 * answering with dns-packet; and the host's resolvers from resolv.conf files.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decode,
  encode,
  RECURSION_AVAILABLE,
  RECURSION_DESIRED,
  TRUNCATED_RESPONSE,
  type Answer,
  type Packet,
} from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { hostResolvers, Upstreams } from "../../../src/dns/forward.js";

const LOOPBACK = "127.0.0.1";
const query = (name: string, id = 7): Buffer =>
  encode({ type: "query", id, flags: RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }] });

const records = (name: string, n: number): Answer[] =>
  Array.from({ length: n }, (_, i) => ({
    type: "A",
    name,
    ttl: 300 + i,
    class: "IN",
    data: `198.51.100.${String(i + 1)}`,
  }));

/** The upstream's full answer, and what it sends over UDP: truncated (TC, no records) when `udpLimit` is passed. */
function answerTo(msg: Buffer, count: number, udpLimit = Infinity): { full: Buffer; udp: Buffer } {
  const q = decode(msg);
  const name = q.questions?.[0]?.name ?? "";
  const base: Packet = { type: "response", id: q.id ?? 0, questions: q.questions ?? [] };
  const full = encode({
    ...base,
    flags: RECURSION_DESIRED | RECURSION_AVAILABLE,
    answers: records(name, count),
  });
  const udp =
    full.length <= udpLimit
      ? full
      : encode({ ...base, flags: RECURSION_DESIRED | RECURSION_AVAILABLE | TRUNCATED_RESPONSE, answers: [] });
  return { full, udp };
}

interface Upstream {
  readonly port: number;
  /** Queries it was asked, by transport. */
  readonly asked: { udp: number; tcp: number };
}

const sockets: (UdpSocket | Server)[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((done) => s.close(() => done()))));
});

const boundUdp = (port = 0): Promise<UdpSocket> => {
  const udp = createSocket("udp4");
  sockets.push(udp);
  return new Promise((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, LOOPBACK, () => resolve(udp));
  });
};

/** UDP and TCP on one port of 127.0.0.1, answering `count` A records, over UDP only up to `udpLimit` bytes. */
async function upstream(
  count: number,
  udpLimit = Infinity,
  before?: (udp: UdpSocket, msg: Buffer, port: number) => void,
): Promise<Upstream> {
  const asked = { udp: 0, tcp: 0 };
  const udp = await boundUdp();
  const { port } = udp.address();
  udp.on("message", (msg, from) => {
    asked.udp++;
    before?.(udp, msg, from.port);
    udp.send(answerTo(msg, count, udpLimit).udp, from.port, from.address);
  });
  const tcp = createServer((conn) => {
    conn.on("data", (chunk: Buffer) => {
      asked.tcp++;
      const { full } = answerTo(chunk.subarray(2, 2 + chunk.readUInt16BE(0)), count);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(full.length);
      // In two writes, as a stream may deliver them.
      conn.write(length);
      conn.end(full);
    });
  });
  sockets.push(tcp);
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, LOOPBACK, () => resolve());
  });
  return { port, asked };
}

describe("forward", () => {
  let upstreams = new Upstreams();
  afterEach(() => {
    upstreams.close();
    upstreams = new Upstreams();
  });
  const forward = (...args: Parameters<Upstreams["forward"]>) => upstreams.forward(...args);

  it("passes the upstream's UDP answer through as it is, TTLs and all", async () => {
    const up = await upstream(2);
    const answer = await forward([LOOPBACK], query("only-upstream.test"), "udp", up.port);
    expect(decode(answer ?? Buffer.alloc(0)).answers).toEqual([
      expect.objectContaining({ name: "only-upstream.test", ttl: 300, data: "198.51.100.1" }),
      expect.objectContaining({ ttl: 301, data: "198.51.100.2" }),
    ]);
    expect(up.asked).toEqual({ udp: 1, tcp: 0 });
  });

  it("gives a UDP client the truncated answer, for it to ask again over TCP itself", async () => {
    const up = await upstream(40, 512);
    const answer = decode((await forward([LOOPBACK], query("many.test"), "udp", up.port)) ?? Buffer.alloc(0));
    expect(answer).toMatchObject({ flag_tc: true, answers: [] });
    expect(up.asked).toEqual({ udp: 1, tcp: 0 });
  });

  it("asks again over TCP for a TCP client when the UDP answer is truncated, and gets every record", async () => {
    const up = await upstream(40, 512);
    const answer = await forward([LOOPBACK], query("many.test", 99), "tcp", up.port);
    const packet = decode(answer ?? Buffer.alloc(0));
    expect(packet).toMatchObject({ id: 99, flag_tc: false });
    expect(packet.answers).toHaveLength(40);
    expect(answer?.length).toBeGreaterThan(512);
    expect(up.asked).toEqual({ udp: 1, tcp: 1 });
  });

  it("takes only the answer with the query's id", async () => {
    const up = await upstream(1, Infinity, (udp, msg, port) => {
      const stray = Buffer.from(answerTo(msg, 3).udp);
      stray.writeUInt16BE(stray.readUInt16BE(0) ^ 0xffff, 0);
      udp.send(stray, port, LOOPBACK);
    });
    const answer = decode(
      (await forward([LOOPBACK], query("one.test", 5), "udp", up.port)) ?? Buffer.alloc(0),
    );
    expect(answer.id).toBe(5);
    expect(answer.answers).toHaveLength(1);
  });

  it("asks over one socket, telling apart queries with the same ID by its own, and gives each its asker's ID", async () => {
    const sources = new Set<number>();
    const up = await upstream(1, Infinity, (_udp, _msg, port) => sources.add(port));
    const names = ["one.test", "two.test", "three.test"];
    const answers = await Promise.all(names.map((n) => forward([LOOPBACK], query(n, 77), "udp", up.port)));
    expect(answers.map((a) => decode(a ?? Buffer.alloc(0)))).toEqual(
      names.map((name): unknown =>
        expect.objectContaining({ id: 77, questions: [expect.objectContaining({ name })] }),
      ),
    );
    expect(sources.size).toBe(1);
  });

  it("takes no answer whose question is not the query's", async () => {
    const up = await upstream(1, Infinity, (udp, msg, port) => {
      const other = decode(msg);
      const stray = encode({
        type: "response",
        id: other.id ?? 0,
        questions: [{ name: "other.test", type: "A", class: "IN" }],
        answers: records("other.test", 2),
      });
      udp.send(stray, port, LOOPBACK);
    });
    const answer = decode((await forward([LOOPBACK], query("mine.test"), "udp", up.port)) ?? Buffer.alloc(0));
    expect(answer.questions).toEqual([expect.objectContaining({ name: "mine.test" })]);
    expect(answer.answers).toHaveLength(1);
  });

  it("asks the next server when one does not answer, and is undefined when none does", async () => {
    const up = await upstream(1);
    // 127.0.0.2 is loopback too; nothing listens there on the upstream's port.
    const answer = await forward(["127.0.0.2", LOOPBACK], query("next.test"), "udp", up.port);
    expect(decode(answer ?? Buffer.alloc(0)).answers).toHaveLength(1);
    expect(await forward([], query("none.test"), "udp", up.port)).toBeUndefined();
  }, 10_000);
});

describe("hostResolvers", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  async function files(resolvConf: string | null, resolved: string | null) {
    dir = await mkdtemp(join(tmpdir(), "hostnet-resolvers-"));
    const paths = { resolvConf: join(dir, "resolv.conf"), resolvedUpstreams: join(dir, "resolved.conf") };
    if (resolvConf !== null) await writeFile(paths.resolvConf, resolvConf);
    if (resolved !== null) await writeFile(paths.resolvedUpstreams, resolved);
    return paths;
  }

  it("is the nameservers of the host's resolv.conf, in order", async () => {
    const text = "# comment\nsearch corp\nnameserver 192.0.2.1\n  nameserver   2001:db8::1\noptions edns0\n";
    expect(await hostResolvers(await files(text, null))).toEqual(["192.0.2.1", "2001:db8::1"]);
  });

  it("puts the upstreams systemd-resolved lists in place of its stub", async () => {
    const paths = await files("nameserver 127.0.0.53\nnameserver 192.0.2.9\n", "nameserver 198.51.100.53\n");
    expect(await hostResolvers(paths)).toEqual(["192.0.2.9", "198.51.100.53"]);
  });

  it("is none when there is no resolv.conf", async () => {
    expect(await hostResolvers(await files(null, null))).toEqual([]);
  });
});
