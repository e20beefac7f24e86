/**
 * CNI errors as libcni (containernetworking/cni v1.3.0) reports them: types.Error decoded from a failed
 * plugin, or raised by libcni itself, and wrapped as fmt.Errorf("...: %w") wraps.
 */

/** A CNI error: decoded from a failed plugin's stdout, or raised by libcni itself (exitCode null). */
export class CniError extends Error {
  override readonly name = "CniError";
  readonly code: number;
  readonly msg: string;
  readonly details: string | undefined;
  /** The plugin's exit code; null if it did not run or was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    init: {
      code: number;
      msg: string;
      details?: string | undefined;
      exitCode?: number | null;
      signal?: NodeJS.Signals | null;
      stderr?: string;
      stdout?: string;
    },
    message?: string,
    options?: ErrorOptions,
  ) {
    const details = init.details === undefined || init.details === "" ? "" : `; ${init.details}`;
    super(message ?? `${init.msg}${details}`, options);
    this.code = init.code;
    this.msg = init.msg;
    this.details = init.details;
    this.exitCode = init.exitCode ?? null;
    this.signal = init.signal ?? null;
    this.stderr = init.stderr ?? "";
    this.stdout = init.stdout ?? "";
  }

  /** The same error with `prefix: ` before the message, as libcni's fmt.Errorf("...: %w") wraps. */
  wrap(prefix: string): CniError {
    return new CniError(this, `${prefix}: ${this.message}`, { cause: this });
  }
}

export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** fmt.Errorf("prefix: %w", err); a CniError stays one, with the plugin's code. */
export function wrap(err: unknown, prefix: string): Error {
  if (err instanceof CniError) return err.wrap(prefix);
  return new Error(`${prefix}: ${message(err)}`, { cause: err });
}
