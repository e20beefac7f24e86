/**
 * POST /endpoints/{id}/trace: a probe from the endpoint, or the next packet of the flow it sends itself,
 * traced through hostnet's rules (docs/trace.md). A watch waits; it ends early when its caller leaves or
 * hostnetd stops, whose close would otherwise wait for it.
 */
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import type { HostnetService, TraceReport } from "../../core/service.js";
import { WATCH_SECONDS } from "../../core/trace.js";
import { closedObject } from "./closed.js";
import { ErrorBody } from "./wire.js";

export const TraceRequest = closedObject({
  Destination: Type.String({ description: "The IP address the packet goes to" }),
  Protocol: Type.Union([Type.Literal("tcp"), Type.Literal("udp"), Type.Literal("icmp")], {
    description: "A TCP SYN, a UDP datagram or an ICMP echo request; of a watch, any packet of the protocol",
  }),
  Port: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 65535, description: "The destination port: tcp and udp only" }),
  ),
  Source: Type.Optional(
    Type.String({
      description:
        "The address to send the probe from: the endpoint's own by default; another address of its namespace shows what anti-spoofing does with a forged source",
    }),
  ),
  Watch: Type.Optional(
    Type.Boolean({
      description: "Send no probe: trace the next packet of the flow the endpoint sends itself",
    }),
  ),
  TimeoutSeconds: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: WATCH_SECONDS.max,
      description: `With Watch: how long to wait for the packet (default ${String(WATCH_SECONDS.default)})`,
    }),
  ),
});
export type TraceRequest = Static<typeof TraceRequest>;

/** The packet's path, in hostnet's words (docs/trace.md). */
export const TraceWire = Type.Object({
  Endpoint: Type.String(),
  Source: Type.String({ description: "The packet's source address" }),
  Destination: Type.String(),
  Protocol: Type.String(),
  Port: Type.Optional(Type.Integer()),
  Dropped: Type.Boolean({ description: "Whether one of hostnet's rules dropped the packet" }),
  Steps: Type.Array(
    Type.Object({
      Kind: Type.String({
        description:
          "portMapping, loadBalancer, noBackend, translated, acl, aclDefault, isolation, closed, loopbackGuard, antispoof, masquerade, snat, left, bridged, delivered",
      }),
      Description: Type.String(),
    }),
  ),
  Probe: Type.Optional(
    Type.String({
      description: "What the probe saw: connected, refused, no answer, answered, sent; a watch has none",
    }),
  ),
  Seen: Type.Optional(
    Type.Boolean({ description: "A watch's: whether a packet of the flow came within TimeoutSeconds" }),
  ),
  TimeoutSeconds: Type.Optional(Type.Integer({ description: "A watch's: how long it waited at most" })),
  Events: Type.Array(Type.String(), { description: "The nftables trace events of the packet" }),
});
export type TraceWire = Static<typeof TraceWire>;

function traceView(r: TraceReport): TraceWire {
  return {
    Endpoint: r.endpoint,
    Source: r.source,
    Destination: r.destination,
    Protocol: r.protocol,
    ...(r.port === undefined ? {} : { Port: r.port }),
    Dropped: r.dropped,
    Steps: r.steps.map((s) => ({ Kind: s.kind, Description: s.description })),
    ...(r.probe === undefined ? {} : { Probe: r.probe }),
    ...(r.watched === undefined ? {} : { Seen: r.watched.seen, TimeoutSeconds: r.watched.timeoutSeconds }),
    Events: [...r.events],
  };
}

const Ref = Type.Object({ ref: Type.String({ description: "ID or Name" }) });
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 500: ErrorBody };

export function registerTraceRoute(app: FastifyInstance, service: HostnetService): void {
  const running = new Set<AbortController>();
  app.addHook("preClose", (done) => {
    for (const trace of running) trace.abort();
    done();
  });
  app
    .withTypeProvider<TypeBoxTypeProvider>()
    .post(
      "/endpoints/:ref/trace",
      { schema: { params: Ref, body: TraceRequest, response: { 200: TraceWire, ...errors } } },
      async (req, reply) => {
        const { Destination, Protocol, Port, Source, Watch, TimeoutSeconds } = req.body;
        const trace = new AbortController();
        // The answer's close: sent, or its connection gone before it was.
        const left = (): void => trace.abort();
        reply.raw.on("close", left);
        running.add(trace);
        try {
          return traceView(
            await service.trace(
              {
                endpoint: req.params.ref,
                destination: Destination,
                protocol: Protocol,
                ...(Port === undefined ? {} : { port: Port }),
                ...(Source === undefined ? {} : { source: Source }),
                ...(Watch === undefined ? {} : { watch: Watch }),
                ...(TimeoutSeconds === undefined ? {} : { timeoutSeconds: TimeoutSeconds }),
              },
              trace.signal,
            ),
          );
        } finally {
          running.delete(trace);
          reply.raw.off("close", left);
        }
      },
    );
}
