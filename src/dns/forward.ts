/**
 * Forwarding what the resolver does not answer itself: to the network's ServerList, else to the host's
 * resolvers (the upstreams of a systemd-resolved stub rather than the stub, which the host's loopback keeps
 * from the network's clients' view anyway). UDP first; over TCP when a TCP client asked or the UDP answer is
 * truncated for one. The upstream's answer passes through as it is, TTLs and all.
 */
import { createSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";

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

function overUdp(server: string, port: number, query: Buffer): Promise<Buffer> {
  const socket = createSocket(server.includes(":") ? "udp6" : "udp4");
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server}: no answer`)), TIMEOUT_MS);
    socket.on("error", reject);
    socket.on("message", (msg) => {
      // Only the answer to this query: same id.
      if (msg.length < 2 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      clearTimeout(timer);
      resolve(msg);
    });
    socket.send(query, port, server, (err) => {
      if (err !== null) reject(err);
    });
  }).finally(() => socket.close());
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

/** The first upstream's answer to `query`, or undefined when none answers; `port`: the upstreams' (53). */
export async function forward(
  servers: readonly string[],
  query: Buffer,
  client: "udp" | "tcp",
  port = DNS_PORT,
): Promise<Buffer | undefined> {
  for (const server of servers) {
    try {
      const answer = await overUdp(server, port, query);
      // A UDP client gets the truncated answer and asks again over TCP itself, as it would of the upstream.
      return client === "tcp" && truncated(answer) ? await overTcp(server, port, query) : answer;
    } catch {
      continue;
    }
  }
  return undefined;
}
