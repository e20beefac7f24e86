/** One JSON line per event (pino); operations log their id and durationMs. */
import { pino, type Logger } from "pino";

export function createLogger(level = process.env["HOSTNET_LOG_LEVEL"] ?? "info"): Logger {
  return pino({ level, base: { service: "hostnetd" } });
}
