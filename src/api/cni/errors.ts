/**
 * CNI errors: the spec's well-known codes, and hostnet's own (100 and up) for what the spec leaves to
 * plugins. An error is printed as `{cniVersion, code, msg, details}` and the plugin exits 1.
 */
import { HostnetError, renameField, type ErrorCode, type FieldNames } from "../../errors.js";

/** The codes hostnetd answers with; the plugin executable adds its own (cni/hostnet-cni.c: 5, 11, 50). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  /** hostnet: the name, address, port or interface is already taken. */
  Conflict: 100,
  /** hostnet: the kernel refused the change; nothing of it was kept. */
  KernelRefused: 101,
  /** hostnet: CHECK found the container's interface not as hostnet made it. */
  Drift: 102,
} as const;

export class CniError extends Error {
  override readonly name = "CniError";
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {
    super(msg);
  }
}

/** The CNI code each of hostnetd's own error codes becomes (docs/cni.md lists them). */
export const cniCodeOf: Readonly<Record<ErrorCode, number>> = {
  InvalidArgument: CniCode.InvalidConfig,
  NotFound: CniCode.InvalidConfig,
  Conflict: CniCode.Conflict,
  Unavailable: CniCode.TryAgainLater,
  Internal: CniCode.KernelRefused,
};

/**
 * The core's field names as CNI names them: the environment variables and the keys of the network
 * configuration (the network's name is `network`, or `name` when there is no `network`).
 */
export const cniFieldNames: FieldNames = {
  name: "network",
  type: "mode",
  network: "network",
  namespace: "CNI_NETNS",
  path: "CNI_NETNS",
  ifname: "CNI_IFNAME",
  mac: "runtimeConfig.mac",
  subnets: "ipam",
};

/**
 * hostnetd's own errors in CNI terms; a HostnetError's field is named in the message. A refused value of an
 * environment variable is code 4, which the spec keeps for invalid environment variables.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof HostnetError) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    const renamed = renameField(err, cniFieldNames);
    const fromEnvironment =
      err.code === "InvalidArgument" && renamed.detail.field?.startsWith("CNI_") === true;
    return new CniError(
      fromEnvironment ? CniCode.InvalidEnvironment : cniCodeOf[err.code],
      renamed.message,
      cause,
    );
  }
  return new CniError(
    CniCode.KernelRefused,
    "hostnetd failed",
    err instanceof Error ? err.message : String(err),
  );
}
