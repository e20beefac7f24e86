/** Progress lines for a long apply: a startup converge of thousands of objects shows it is moving. */
import type { Logger } from "pino";
import type { ApplyProgress } from "./apply.js";

/**
 * Logs how many of the apply's kernel steps are done, at most once every `everyMs`, and not at the end
 * (the converge's own line says that): an apply shorter than `everyMs` logs nothing.
 */
export function progressLog(
  log: Logger,
  fields: Readonly<Record<string, unknown>>,
  everyMs = 2000,
  now: () => number = () => performance.now(),
): ApplyProgress {
  const started = now();
  let last = started;
  return (done, total) => {
    const at = now();
    if (done >= total || at - last < everyMs) return;
    last = at;
    const percent = Math.floor((done / total) * 100);
    log.info(
      { ...fields, done, total, elapsedMs: Math.round(at - started) },
      `applied ${String(done)} of ${String(total)} kernel steps (${String(percent)}%)`,
    );
  };
}
