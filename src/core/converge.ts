/** The one way a write reaches the kernel: converge what it touched, or undo it and converge back. */
import { KernelCommandError } from "../dataplane/linux/exec.js";
import { OutOfFileDescriptors } from "../dataplane/loopback-proxy.js";
import type { Owner } from "../dataplane/naming.js";
import type { Reconciler } from "../dataplane/reconciler.js";
import { HostnetError } from "../errors.js";
import type { Store } from "../store/store.js";

/** Converges `scope`; if the kernel refuses, runs `undo` on the store and converges back, so nothing is left half-applied. */
export async function convergeOrUndo(
  store: Store,
  reconciler: Reconciler,
  scope: readonly Owner[],
  undo: () => void,
): Promise<void> {
  try {
    await reconciler.converge(scope);
  } catch (err) {
    store.write(undo);
    await reconciler.converge(scope).catch(() => undefined);
    throw kernelRefusal(err);
  }
}

function kernelRefusal(err: unknown): HostnetError {
  if (err instanceof HostnetError) return err;
  if (err instanceof OutOfFileDescriptors)
    return new HostnetError("Unavailable", `${err.message}; the change was rolled back`, {}, { cause: err });
  if (err instanceof KernelCommandError && err.stderr.includes("File exists"))
    return new HostnetError(
      "Conflict",
      "the kernel already has an object of that name (interface or namespace)",
      {},
      { cause: err },
    );
  return new HostnetError(
    "Internal",
    "the kernel refused the change; it was rolled back",
    {},
    { cause: err },
  );
}
