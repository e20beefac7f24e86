/**
 * hostnet's resolver: one part of hostnetd, in its namespace, serving every network with DNS on at its
 * gateway addresses, UDP and TCP port 53. It reads names from the store as each query comes (NameBook), so
 * an endpoint's name is there the moment its record is and no change of endpoints touches a socket; only a
 * network's own gateway addresses open and close listeners, as the reconciler says (a `dnsListener`).
 * A listener that cannot bind (another resolver holds address:53) fails neither the network nor the plan it is
 * in: the resolver keeps why, the reconciler leaves it out of what it has made, and a later converge tries it
 * again.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { decode, encode, type DecodedPacket } from "dns-packet";
import type { Network } from "../model/types.js";
import { AnswerCache } from "./answer-cache.js";
import { answerFromNetwork, onNetwork, refused, serverFailure, type NameBook } from "./answer.js";
import { hostResolvers, Upstreams } from "./forward.js";

const DNS_PORT = 53;

const networkIdOf = (owner: string): string => owner.slice("net:".length);

/** dgram's lookup for addresses that are IPs: the answer at once, not on the next tick as dns.lookup gives it. */
const noLookup = (
  address: string,
  _family: unknown,
  done: (err: Error | null, address: string, family: number) => void,
): void => done(null, address, address.includes(":") ? 6 : 4);

export interface ListenerSpec {
  readonly address: string;
  /** `net:<id>`: the network whose names the listener answers. */
  readonly owner: string;
}

/** A listener that could not bind, and the error that says why (Node's names the address and port). */
export interface UnboundListener {
  readonly spec: ListenerSpec;
  readonly why: string;
}

interface Listener {
  readonly spec: ListenerSpec;
  close(): Promise<void>;
}

export class Resolver {
  private readonly listeners = new Map<string, Listener>();
  /** The listeners the reconciler asked for that are not open, with why, by address. */
  private readonly failures = new Map<string, UnboundListener>();

  /** The upstreams' sockets, shared by every listener. */
  private readonly upstreams = new Upstreams();

  constructor(private readonly book: NameBook) {}

  list(): ListenerSpec[] {
    return [...this.listeners.values()].map((l) => l.spec);
  }

  /**
   * The listeners asked for that could not bind, with why. Those of a network that is gone go: the reconciler
   * closes only what it observed open, so it never asks to close a listener that never bound.
   */
  unbound(): UnboundListener[] {
    for (const [address, failure] of this.failures)
      if (this.book.network(networkIdOf(failure.spec.owner)) === undefined) this.failures.delete(address);
    return [...this.failures.values()];
  }

  /** Opens a listener; one that cannot bind is kept in `unbound` rather than thrown. */
  async open(spec: ListenerSpec): Promise<void> {
    await this.close(spec.address);
    try {
      await this.bind(spec);
    } catch (err) {
      this.failures.set(spec.address, { spec, why: err instanceof Error ? err.message : String(err) });
    }
  }

  private async bind(spec: ListenerSpec): Promise<void> {
    const udp = await this.listenUdp(spec);
    const tcp = await this.listenTcp(spec).catch(async (err: unknown) => {
      await new Promise<void>((done) => udp.close(() => done()));
      throw err;
    });
    this.listeners.set(spec.address, {
      spec,
      close: async () => {
        await Promise.all([
          new Promise<void>((done) => udp.close(() => done())),
          new Promise<void>((done) => tcp.close(() => done())),
        ]);
      },
    });
  }

  async close(address: string): Promise<void> {
    const listener = this.listeners.get(address);
    this.listeners.delete(address);
    this.failures.delete(address);
    await listener?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((a) => this.close(a)));
    this.upstreams.close();
  }

  /**
   * The answer to one query from a client of the network `owner` names; undefined drops it. The network's own
   * names answer at once, from `cache` when it has the answer; only a forwarded query waits.
   */
  private resolve(
    owner: string,
    cache: AnswerCache,
    client: string,
    query: Buffer,
    via: "udp" | "tcp",
  ): Buffer | undefined | Promise<Buffer | undefined> {
    cache.check(this.book.version());
    const networkId = networkIdOf(owner);
    const allowed = cache.allows(client, () => {
      const net = this.book.network(networkId);
      return net !== undefined && onNetwork(net, client);
    });
    const kept = allowed ? cache.answer(query) : undefined;
    if (kept !== undefined) return kept;
    let packet: DecodedPacket;
    try {
      packet = decode(query);
    } catch {
      return undefined;
    }
    if (packet.type !== "query") return undefined;
    try {
      const net = this.book.network(networkId);
      if (!allowed || net === undefined) return encode(refused(packet));
      const own = answerFromNetwork(packet, net, this.book);
      if (own !== undefined) return cache.keep(query, encode(own));
      return this.forwarded(net, packet, query, via);
    } catch {
      // A question the answer cannot be encoded for (or the store closing under it): no crash, a failure.
      return encode(serverFailure(packet));
    }
  }

  private async forwarded(
    net: Network,
    packet: DecodedPacket,
    query: Buffer,
    via: "udp" | "tcp",
  ): Promise<Buffer> {
    try {
      const servers = net.dns.servers.length > 0 ? net.dns.servers : await hostResolvers();
      return (await this.upstreams.forward(servers, query, via)) ?? encode(serverFailure(packet));
    } catch {
      return encode(serverFailure(packet));
    }
  }

  private listenUdp(spec: ListenerSpec): Promise<UdpSocket> {
    // Addresses are IPs already: no lookup, so the answer goes out in the same turn as the query came.
    const socket = createSocket({ type: spec.address.includes(":") ? "udp6" : "udp4", lookup: noLookup });
    const cache = new AnswerCache();
    // A datagram that cannot be sent is lost, as UDP may lose it: with no callback, dgram drops the error.
    const send = (answer: Buffer | undefined, from: RemoteInfo): void => {
      if (answer !== undefined) socket.send(answer, from.port, from.address);
    };
    socket.on("message", (msg, from) => {
      const answer = this.resolve(spec.owner, cache, from.address, msg, "udp");
      if (answer instanceof Promise)
        answer.then(
          (a) => send(a, from),
          () => undefined,
        );
      else send(answer, from);
    });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: spec.address, port: DNS_PORT }, () => {
        socket.off("error", reject);
        socket.on("error", () => undefined);
        resolve(socket);
      });
    });
  }

  private listenTcp(spec: ListenerSpec): Promise<Server> {
    const cache = new AnswerCache();
    const server = createServer((conn) => this.serveTcp(spec, cache, conn));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: spec.address, port: DNS_PORT }, () => {
        server.off("error", reject);
        server.on("error", () => undefined);
        resolve(server);
      });
    });
  }

  /** Length-prefixed queries (RFC 1035 4.2.2), answered in turn, until the client closes. */
  private serveTcp(spec: ListenerSpec, cache: AnswerCache, conn: Socket): void {
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    conn.on("error", () => conn.destroy());
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + query.length);
        queue = queue
          .then(async () => {
            const answer = await this.resolve(spec.owner, cache, conn.remoteAddress ?? "", query, "tcp");
            if (answer === undefined) return;
            const length = Buffer.alloc(2);
            length.writeUInt16BE(answer.length);
            conn.write(Buffer.concat([length, answer]));
          })
          .catch(() => {
            conn.destroy();
          });
      }
    });
  }
}
