/** One JSON line per event (pino); operations log their id and durationMs. */
import { pino, type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "hostnetd" } });
}
