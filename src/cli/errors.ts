/**
 * The CLI's door for errors: one stderr line and an exit code, defined once. Usage errors exit 2 and point
 * at --help; anything hostnetd (or reaching it) reports exits 1. No stack trace reaches the user.
 */
import { HostnetError } from "../errors.js";

/** The command line itself is wrong; nothing was sent to hostnetd. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Writes the error for a person and returns the exit code.
 * @param command the command words resolved so far, e.g. `hostnet network create`, for the --help hint
 */
export function reportError(err: unknown, command: string, stderr: (text: string) => void): number {
  if (err instanceof UsageError) {
    stderr(`hostnet: ${err.message}\nRun '${command} --help' for usage.\n`);
    return exitCodes.usage;
  }
  if (err instanceof HostnetError) {
    stderr(`hostnet: ${oneLine(err.message)}\n`);
    return exitCodes.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr(`hostnet: internal error: ${oneLine(message)}\n`);
  return exitCodes.failed;
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim();
