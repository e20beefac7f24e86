/**
 * Why the work in progress is done: each front door (and each of hostnetd's own reasons to change things)
 * runs its work inside `withCause`, and the events that work records carry it. AsyncLocalStorage carries it
 * through every await, so no call in between has to pass it along.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { EventCause } from "../events/event.js";

const causes = new AsyncLocalStorage<EventCause>();

/** Runs `fn` (and everything it awaits or starts) with `cause` as the cause of what it changes. */
export function withCause<T>(cause: EventCause, fn: () => T): T {
  return causes.run(cause, fn);
}

/** The cause of the work in progress: `internal` outside any door's or reason's work. */
export function currentCause(): EventCause {
  return causes.getStore() ?? "internal";
}
