/**
 * Long passes over a converge's objects (a load balancer's 65,536 elements), written once as generators
 * that pause between slices: run through at once where the caller is pure, or with a turn of the event loop
 * at each pause, so that the API answers other requests meanwhile.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** A pass that pauses between slices and returns what it made. */
export type Pass<T> = Generator<undefined, T, undefined>;

/** How many objects a pass goes through between two pauses: about a millisecond's work. */
const SLICE = 1024;

/** Counts a pass's objects: true once every SLICE of them, when the pass may pause. */
export function sliceCounter(): () => boolean {
  let n = 0;
  return () => ++n % SLICE === 0;
}

/** Runs a pass to its end without pausing. */
export function runThrough<T>(pass: Pass<T>): T {
  for (;;) {
    const step = pass.next();
    if (step.done === true) return step.value;
  }
}

/** Runs a pass to its end, letting the event loop run at each of its pauses. */
export async function runYielding<T>(pass: Pass<T>): Promise<T> {
  for (;;) {
    const step = pass.next();
    if (step.done === true) return step.value;
    await yieldToEventLoop();
  }
}
