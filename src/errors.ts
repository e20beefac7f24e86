/**
 * The closed set of error kinds every front door maps once (REST status, CLI exit code, later Docker and
 * CNI). Context travels in `cause`, never by concatenating messages.
 */
export const errorCodes = ["InvalidArgument", "NotFound", "Conflict", "Unavailable", "Internal"] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorDetail {
  /** The request field at fault, as a JSON path such as `Ipams[0].Subnets[1].IpAddressPrefix`. */
  readonly field?: string;
  /** What the caller can do about it. */
  readonly hint?: string;
}

export class HostnetError extends Error {
  override readonly name = "HostnetError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: ErrorDetail = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const invalidArgument = (field: string, message: string): HostnetError =>
  new HostnetError("InvalidArgument", `${field}: ${message}`, { field });

export const notFound = (what: string, ref: string): HostnetError =>
  new HostnetError("NotFound", `${what} "${ref}" not found`);

export const conflict = (message: string, field?: string): HostnetError =>
  new HostnetError("Conflict", message, field === undefined ? {} : { field });

/** Anything that is not already a HostnetError becomes Internal, keeping the original as the cause. */
export function asHostnetError(err: unknown): HostnetError {
  if (err instanceof HostnetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HostnetError("Internal", message, {}, { cause: err });
}
