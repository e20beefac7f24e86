/**
 * The event log: records each event in the store's capped history and hands it at once to every reader of
 * the live stream. Recording is one small insert, done after the change it reports has reached the kernel.
 */
import { currentCause } from "../core/cause.js";
import type { Store } from "../store/store.js";
import type { HostnetEvent, NewEvent } from "./event.js";

export type EventListener = (event: HostnetEvent) => void;

export class EventLog {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly store: Store) {}

  record(e: NewEvent): HostnetEvent {
    const event = this.store.events.insert({
      time: new Date().toISOString(),
      kind: e.kind,
      action: e.action,
      id: e.id,
      name: e.name,
      cause: e.cause ?? currentCause(),
      details: e.details ?? {},
    });
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /**
   * Hands `listener` the events kept from `history.since` to `history.until` (epoch ms), if asked, then,
   * if `live`, every event recorded from now on until `stop` is called. Nothing recorded in between is
   * missed or handed twice: both happen in one turn of the event loop, and recording is synchronous.
   */
  follow(
    listener: EventListener,
    opts: { readonly history?: { readonly since: number; readonly until: number }; readonly live: boolean },
  ): { readonly stop: () => void } {
    const { history } = opts;
    if (history !== undefined)
      for (const event of this.store.events.between(iso(history.since), iso(history.until))) listener(event);
    if (opts.live) this.listeners.add(listener);
    return { stop: () => this.listeners.delete(listener) };
  }
}

/** Times as the store keeps them: toISOString's, which sort as they compare. */
const iso = (ms: number): string => new Date(Math.min(Math.max(ms, 0), 8.64e15)).toISOString();
