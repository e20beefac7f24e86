/**
 * Forwarding what the resolver does not answer itself: to the network's ServerList, else to the host's
 * resolvers (the upstreams of a systemd-resolved stub rather than the stub, which the host's loopback keeps
 * from the network's clients' view anyway). UDP first; over TCP when a TCP client asked or the UDP answer is
 * truncated for one. The upstream's answer passes through as it is, TTLs and all.
 */
import { randomInt } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { decode, encodingLength } from "dns-packet";

const DNS_PORT = 53;
const TIMEOUT_MS = 2000;
/** The header's TC bit (RFC 1035 4.1.1). */
const TRUNCATED = 0x0200;
/** The host's resolv.conf, and where systemd-resolved lists the upstreams its stub at 127.0.0.53 asks. */
const HOST_FILES = { resolvConf: "/etc/resolv.conf", resolvedUpstreams: "/run/systemd/resolve/resolv.conf" };
const RESOLVED_STUB = "127.0.0.53";

const nameservers = (text: string): string[] =>
  [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1] ?? "").filter((s) => s !== "");

/** The host's resolvers, as hostnetd's /etc/resolv.conf names them, a resolved stub replaced by its upstreams. */
export async function hostResolvers(files: typeof HOST_FILES = HOST_FILES): Promise<string[]> {
  const listed = nameservers(await readFile(files.resolvConf, "utf8").catch(() => ""));
  if (!listed.includes(RESOLVED_STUB)) return listed;
  const upstreams = nameservers(await readFile(files.resolvedUpstreams, "utf8").catch(() => ""));
  return [...listed.filter((s) => s !== RESOLVED_STUB), ...upstreams];
}

/** A query asked of an upstream over UDP, under an ID of the socket's own. */
interface Pending {
  /** The asker's query: its ID goes back into the answer, its question must be the answer's. */
  readonly query: Buffer;
  /** Where the query's question section ends. */
  readonly questionEnd: number;
  readonly resolve: (answer: Buffer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One UDP socket to one upstream, kept open: a socket per query cost a socket's creation and close on every
 * forwarded query. Queries go out under IDs it picks at random among those not in flight (clients' own IDs
 * can clash), and an answer is taken only from the upstream's address and port, for an ID in flight, with the
 * query's question; the asker's ID is put back.
 */
class UpstreamSocket {
  private readonly socket: UdpSocket;
  private readonly pending = new Map<number, Pending>();
  private readonly sender: string;

  constructor(
    private readonly server: string,
    private readonly port: number,
  ) {
    this.sender = asSender(server);
    this.socket = createSocket(server.includes(":") ? "udp6" : "udp4");
    this.socket.on("error", () => undefined);
    this.socket.on("message", (msg, from) => {
      if (msg.length < 12 || from.port !== port || from.address !== this.sender) return;
      const id = msg.readUInt16BE(0);
      const asked = this.pending.get(id);
      if (asked === undefined || msg.compare(asked.query, 12, asked.questionEnd, 12, asked.questionEnd) !== 0)
        return;
      this.settle(id);
      const answer = Buffer.from(msg);
      asked.query.copy(answer, 0, 0, 2);
      asked.resolve(answer);
    });
  }

  ask(query: Buffer): Promise<Buffer> {
    const questionEnd = questionSectionEnd(query);
    const id = this.freeId();
    return new Promise<Buffer>((resolve, reject) => {
      if (id === undefined || questionEnd === undefined) {
        reject(new Error(`${this.server}: ${id === undefined ? "no free query ID" : "no question"}`));
        return;
      }
      const timer = setTimeout(() => {
        this.settle(id);
        reject(new Error(`${this.server}: no answer`));
      }, TIMEOUT_MS);
      this.pending.set(id, { query, questionEnd, resolve, reject, timer });
      const sent = Buffer.from(query);
      sent.writeUInt16BE(id, 0);
      this.socket.send(sent, this.port, this.server, (err) => {
        if (err === null) return;
        this.settle(id);
        reject(err);
      });
    });
  }

  private settle(id: number): void {
    const asked = this.pending.get(id);
    if (asked !== undefined) clearTimeout(asked.timer);
    this.pending.delete(id);
  }

  /** A random ID not in flight; undefined when all 65,536 are. */
  private freeId(): number | undefined {
    if (this.pending.size >= 0x10000) return undefined;
    for (;;) {
      const id = randomInt(0x10000);
      if (!this.pending.has(id)) return id;
    }
  }

  close(): void {
    for (const [id, asked] of this.pending) {
      this.settle(id);
      asked.reject(new Error(`${this.server}: closed`));
    }
    this.socket.close();
  }
}

/** An address as dgram gives a sender's: IPv6 in its shortest form (RFC 5952), as resolv.conf may not have it. */
const asSender = (server: string): string =>
  server.includes(":") ? new URL(`http://[${server}]`).hostname.slice(1, -1) : server;

/** Where the question section of `query` ends (dns-packet reads it), or undefined for no question. */
function questionSectionEnd(query: Buffer): number | undefined {
  try {
    const { questions } = decode(query);
    return questions === undefined || questions.length === 0
      ? undefined
      : encodingLength({ type: "query", questions });
  } catch {
    return undefined;
  }
}

function overTcp(server: string, port: number, query: Buffer): Promise<Buffer> {
  const socket = connect({ host: server, port });
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.setTimeout(TIMEOUT_MS, () => reject(new Error(`${server}: no answer over TCP`)));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0))
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    socket.write(Buffer.concat([length, query]));
  }).finally(() => socket.destroy());
}

const truncated = (answer: Buffer): boolean =>
  answer.length >= 4 && (answer.readUInt16BE(2) & TRUNCATED) !== 0;

/** The upstreams' UDP sockets, one for each server and port asked, open until `close`. */
export class Upstreams {
  private readonly sockets = new Map<string, UpstreamSocket>();

  /** The first upstream's answer to `query`, or undefined when none answers; `port`: the upstreams' (53). */
  async forward(
    servers: readonly string[],
    query: Buffer,
    client: "udp" | "tcp",
    port = DNS_PORT,
  ): Promise<Buffer | undefined> {
    for (const server of servers) {
      try {
        const answer = await this.socket(server, port).ask(query);
        // A UDP client gets the truncated answer and asks again over TCP itself, as it would of the upstream.
        return client === "tcp" && truncated(answer) ? await overTcp(server, port, query) : answer;
      } catch {
        continue;
      }
    }
    return undefined;
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private socket(server: string, port: number): UpstreamSocket {
    const key = `${server} ${String(port)}`;
    let socket = this.sockets.get(key);
    if (socket === undefined) {
      socket = new UpstreamSocket(server, port);
      this.sockets.set(key, socket);
    }
    return socket;
  }
}
