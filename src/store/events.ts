/**
 * The event history: the last EVENT_HISTORY events, so that `GET /events?since=` reaches back before a
 * restart of hostnetd. Older ones are deleted as new ones come, one range delete on the primary key.
 */
import type { EventAction, EventCause, EventDetails, EventKind, HostnetEvent } from "../events/event.js";
import type { Prepare } from "./statements.js";

/** How many events the store keeps: days of a busy host's changes, a few MB. */
export const EVENT_HISTORY = 10_000;

interface EventRow {
  seq: number;
  time: string;
  kind: EventKind;
  action: EventAction;
  objectId: string;
  name: string;
  cause: EventCause;
  details: string;
}

const fromRow = (r: EventRow): HostnetEvent => ({
  seq: r.seq,
  time: r.time,
  kind: r.kind,
  action: r.action,
  id: r.objectId,
  name: r.name,
  cause: r.cause,
  details: JSON.parse(r.details) as EventDetails,
});

export class EventStore {
  constructor(private readonly prepare: Prepare) {}

  /** Records an event and returns it with its sequence number; forgets the oldest beyond EVENT_HISTORY. */
  insert(e: Omit<HostnetEvent, "seq">): HostnetEvent {
    const { lastInsertRowid } = this.prepare(
      `INSERT INTO events (time, kind, action, object_id, name, cause, details) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(e.time, e.kind, e.action, e.id, e.name, e.cause, JSON.stringify(e.details));
    const seq = Number(lastInsertRowid);
    this.prepare("DELETE FROM events WHERE seq <= ?").run(seq - EVENT_HISTORY);
    return { seq, ...e };
  }

  /** The events kept from `since` (an RFC 3339 UTC time as `insert` was given) to `until`, oldest first. */
  between(since: string, until: string): HostnetEvent[] {
    return this.prepare<[string, string], EventRow>(
      `SELECT seq, time, kind, action, object_id AS objectId, name, cause, details
         FROM events WHERE time >= ? AND time <= ? ORDER BY seq`,
    )
      .all(since, until)
      .map(fromRow);
  }
}
