/**
 * The times `GET /events?since=&until=` and `hostnet events --since --until` take, as `docker events`
 * does: an RFC 3339 time (`2026-12-07T23:42:12Z`, `…12.5+01:00`) or Unix seconds (`1796687000`,
 * `1796687000.250`).
 */
import { invalidArgument } from "../errors.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const UNIX_SECONDS = /^\d{1,12}(\.\d{1,9})?$/;

/** The time `value` names, in ms since the epoch; InvalidArgument naming `field` when it names none. */
export function parseEventTime(field: string, value: string): number {
  const ms = UNIX_SECONDS.test(value)
    ? Number(value) * 1000
    : RFC3339.test(value)
      ? Date.parse(value.replace(" ", "T").toUpperCase())
      : NaN;
  if (!Number.isFinite(ms))
    throw invalidArgument(
      field,
      `"${value}" is neither an RFC 3339 time (2026-12-07T23:42:12Z) nor Unix seconds (1796687000)`,
    );
  return ms;
}
