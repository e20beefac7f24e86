/**
 * The closed set of error kinds every front door maps once (REST status, CLI exit code, Docker's `Err`, CNI
 * codes). Context travels in `cause`, never by concatenating messages.
 */
export const errorCodes = ["InvalidArgument", "NotFound", "Conflict", "Unavailable", "Internal"] as const;
export type ErrorCode = (typeof errorCodes)[number];

/**
 * The names the core gives the fields it finds at fault, in its own words (docs/errors.md says what each
 * is); each door renames them once, in its error mapping, to what its wire calls them (renameField). A field
 * path a door handed in with its input (`Ipams[0].Subnets[1].IpAddressPrefix`) is the door's own and is
 * never one of these.
 */
export const coreFields = [
  "name",
  "type",
  "network",
  "namespace",
  "ifname",
  "mac",
  "mtu",
  "subnets",
  "policies",
  "adapter",
  "vni",
  "path",
  "sandbox",
  "vips",
  "portMappings",
  "backends",
  "sourceVip",
  "destination",
  "port",
  "source",
  "timeout",
] as const;
export type CoreField = (typeof coreFields)[number];

/** A door's names for the core's fields; a field it leaves out keeps the core's name. */
export type FieldNames = Readonly<Partial<Record<CoreField, string>>>;

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

/** An error about one field whose message names the field first, `field: reason`, keeping the reason apart. */
class FieldError extends HostnetError {
  constructor(
    code: ErrorCode,
    field: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(code, `${field}: ${reason}`, { field }, options);
  }
}

export const invalidArgument = (field: string, message: string): HostnetError =>
  new FieldError("InvalidArgument", field, message);

export const notFound = (what: string, ref: string): HostnetError =>
  new HostnetError("NotFound", `${what} "${ref}" not found`);

export const conflict = (message: string, field?: string): HostnetError =>
  new HostnetError("Conflict", message, field === undefined ? {} : { field });

/** A conflict over one field, its message `field: reason` like invalidArgument's. */
export const conflictAt = (field: string, reason: string): HostnetError =>
  new FieldError("Conflict", field, reason);

/** Anything that is not already a HostnetError becomes Internal, keeping the original as the cause. */
export function asHostnetError(err: unknown): HostnetError {
  if (err instanceof HostnetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HostnetError("Internal", message, {}, { cause: err });
}

const isCoreField = (field: string): field is CoreField => (coreFields as readonly string[]).includes(field);

/**
 * The error with the core's name for its field replaced by the door's, in the message too where it starts
 * with the field; code, hint and cause stay. A door's own field paths pass unchanged.
 */
export function renameField(err: HostnetError, names: FieldNames): HostnetError {
  const field = err.detail.field;
  const renamed = field !== undefined && isCoreField(field) ? names[field] : undefined;
  if (renamed === undefined) return err;
  const options = err.cause === undefined ? undefined : { cause: err.cause };
  return err instanceof FieldError
    ? new FieldError(err.code, renamed, err.reason, options)
    : new HostnetError(err.code, err.message, { ...err.detail, field: renamed }, options);
}
