/**
 * Published ports on the host's IPv6 loopback. IPv6 has no route_localnet: the kernel drops a reply whose
 * destination was de-NATed back to ::1 on a bridge, so `[::1]:PORT` cannot be DNAT'ed to a container.
 * hostnetd relays those connections itself, as Docker's userland proxy does, for ::1 only: every other
 * address, IPv4 loopback included, is NAT in the kernel and keeps the client's real address.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import type { Protocol } from "../model/types.js";
import { FD_RESERVE, fileLimit, openFiles } from "./linux/file-limit.js";

export interface ProxySpec {
  readonly protocol: Protocol;
  readonly port: number;
  readonly target: string;
  readonly targetPort: number;
  readonly owner: string;
}

/** A relay hostnetd will not open: it would leave the process fewer file descriptors than it needs. */
export class OutOfFileDescriptors extends Error {
  override readonly name = "OutOfFileDescriptors";
}

const LOOPBACK = "::1";
const UDP_IDLE_MS = 30_000;

interface Listener {
  readonly spec: ProxySpec;
  close(): Promise<void>;
}

function listenTcp(spec: ProxySpec): Promise<Listener> {
  // Half-open on both sides: a client that sends its request and shuts down writing still gets the answer.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: spec.target, port: spec.targetPort, allowHalfOpen: true });
    const abort = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.pipe(upstream).pipe(client);
    client.on("error", abort);
    upstream.on("error", abort);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: LOOPBACK, port: spec.port, ipv6Only: true }, () => {
      server.off("error", reject);
      // accept() failing (EMFILE) drops that one connection; the relay keeps listening.
      server.on("error", () => undefined);
      resolve({
        spec,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
          }),
      });
    });
  });
}

function listenUdp(spec: ProxySpec): Promise<Listener> {
  const server = createSocket({ type: "udp6", ipv6Only: true });
  const sessions = new Map<string, { socket: UdpSocket; timer: NodeJS.Timeout }>();
  const family = spec.target.includes(":") ? "udp6" : "udp4";
  server.on("message", (msg, from) => {
    const key = `${from.address}/${from.port}`;
    let session = sessions.get(key);
    if (session === undefined) {
      const socket = createSocket(family);
      // A datagram that cannot be sent is lost, as UDP may lose it; the callback keeps it from being an 'error'.
      socket.on("message", (reply) => server.send(reply, from.port, from.address, () => undefined));
      socket.on("error", () => socket.close());
      session = { socket, timer: setTimeout(() => undefined, 0) };
      sessions.set(key, session);
    }
    const current = session;
    clearTimeout(current.timer);
    current.timer = setTimeout(() => {
      sessions.delete(key);
      current.socket.close();
    }, UDP_IDLE_MS);
    current.socket.send(msg, spec.targetPort, spec.target, () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.bind({ address: LOOPBACK, port: spec.port }, () => {
      server.off("error", reject);
      server.on("error", () => undefined);
      resolve({
        spec,
        close: () =>
          new Promise((done) => {
            for (const s of sessions.values()) {
              clearTimeout(s.timer);
              s.socket.close();
            }
            sessions.clear();
            server.close(() => done());
          }),
      });
    });
  });
}

const proxyKey = (protocol: Protocol, port: number): string => `${protocol}/${port}`;

export class LoopbackProxy {
  private readonly listeners = new Map<string, Listener>();

  list(): ProxySpec[] {
    return [...this.listeners.values()].map((l) => l.spec);
  }

  async open(spec: ProxySpec): Promise<void> {
    await this.close(spec.protocol, spec.port);
    const limit = fileLimit().soft;
    const open = openFiles();
    if (open + 1 + FD_RESERVE > limit)
      throw new OutOfFileDescriptors(
        `no file descriptor left for the [::1] relay of ${spec.protocol} port ${String(spec.port)}: hostnetd has ${String(open)} open of its limit ${String(limit)} and keeps ${String(FD_RESERVE)} for itself; raise its RLIMIT_NOFILE (LimitNOFILE= in its systemd unit)`,
      );
    const listener = spec.protocol === "tcp" ? await listenTcp(spec) : await listenUdp(spec);
    this.listeners.set(proxyKey(spec.protocol, spec.port), listener);
  }

  async close(protocol: Protocol, port: number): Promise<void> {
    const key = proxyKey(protocol, port);
    const listener = this.listeners.get(key);
    this.listeners.delete(key);
    await listener?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((s) => this.close(s.protocol, s.port)));
  }
}
