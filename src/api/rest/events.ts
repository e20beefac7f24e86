/**
 * GET /events: the event stream as newline-delimited JSON, one event a line, as `docker events` streams
 * them. With `since`, the kept events from then come first; with `until`, the stream ends then (at once,
 * after the kept ones, when it is past). A reader that falls MAX_BEHIND_BYTES behind is disconnected
 * rather than buffered without end: hostnetd never waits for a reader.
 */
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { invalidArgument } from "../../errors.js";
import { eventActions, eventCauses, eventKinds, type HostnetEvent } from "../../events/event.js";
import type { EventLog } from "../../events/log.js";
import { parseEventTime } from "../../events/time.js";
import { ErrorBody } from "./wire.js";

/** What a reader may have unread before it is dropped: thousands of events. */
const MAX_BEHIND_BYTES = 1 << 20;

export const EventWire = Type.Object({
  Seq: Type.Integer({ description: "Increases from event to event, also across restarts" }),
  Time: Type.String({ description: "RFC 3339, UTC, with milliseconds" }),
  Kind: Type.Enum(eventKinds),
  Action: Type.Enum(eventActions),
  ID: Type.String(),
  Name: Type.String(),
  Cause: Type.Enum(eventCauses),
  Details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
});
export type EventWire = Static<typeof EventWire>;

const EventQuery = Type.Object({
  since: Type.Optional(
    Type.String({ description: "RFC 3339 time or Unix seconds: the kept events from then come first" }),
  ),
  until: Type.Optional(Type.String({ description: "RFC 3339 time or Unix seconds: the stream ends then" })),
  kind: Type.Optional(Type.Enum(eventKinds)),
  object: Type.Optional(Type.String({ description: "Only events of the object with this ID or name" })),
});

const eventView = (e: HostnetEvent): EventWire => ({
  Seq: e.seq,
  Time: e.time,
  Kind: e.kind,
  Action: e.action,
  ID: e.id,
  Name: e.name,
  Cause: e.cause,
  Details: { ...e.details },
});

export function registerEventRoute(app: FastifyInstance, events: EventLog): void {
  // Streams end when hostnetd stops: the server's close waits for open connections, and a stream never ends.
  const open = new Set<() => void>();
  app.addHook("preClose", (done) => {
    for (const end of open) end();
    done();
  });
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    "/events",
    {
      schema: {
        description:
          "The event stream, newline-delimited JSON (application/x-ndjson), one event a line (docs/events.md)",
        querystring: EventQuery,
        response: { 400: ErrorBody },
      },
    },
    (req, reply) => {
      const { kind, object } = req.query;
      const since = req.query.since === undefined ? undefined : parseEventTime("since", req.query.since);
      const until = req.query.until === undefined ? undefined : parseEventTime("until", req.query.until);
      if (since !== undefined && until !== undefined && until < since)
        throw invalidArgument("until", "is before since");
      const now = Date.now();
      const live = until === undefined || until > now;
      const res = reply.hijack().raw;
      res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
      res.flushHeaders();
      let stop = (): void => undefined;
      let ending: NodeJS.Timeout | undefined;
      const end = (): void => {
        stop();
        clearTimeout(ending);
        open.delete(end);
        res.end();
      };
      const send = (e: HostnetEvent): void => {
        if (kind !== undefined && e.kind !== kind) return;
        if (object !== undefined && e.id !== object && e.name !== object) return;
        if (until !== undefined && Date.parse(e.time) > until) return;
        res.write(`${JSON.stringify(eventView(e))}\n`);
        if (res.writableLength > MAX_BEHIND_BYTES) {
          req.log.warn({ op: "events" }, "a reader of the event stream fell behind: disconnected");
          stop();
          clearTimeout(ending);
          res.destroy();
        }
      };
      ({ stop } = events.follow(send, {
        ...(since === undefined ? {} : { history: { since, until: until ?? now } }),
        live,
      }));
      if (!live) {
        end();
        return;
      }
      open.add(end);
      res.on("close", end);
      if (until !== undefined) ending = setTimeout(end, until - now);
    },
  );
}
