/** The spawner (spawner.ts): runs each command hostnetd sends it, and ends with hostnetd. */
import { KernelCommandError, processRunner } from "./exec.js";
import type { SpawnAnswer, SpawnRequest } from "./spawner.js";

function answer(a: SpawnAnswer): void {
  process.send?.(a);
}

/** Why a command could not run (ENOENT, EMFILE), as its error said. */
function failure(err: unknown): { message: string; code?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" ? { message, code } : { message };
}

process.on("message", (request: SpawnRequest) => {
  const { id } = request;
  processRunner.run(request.argv, request.input).then(
    (result) => answer({ id, result }),
    (err: unknown) =>
      answer(
        err instanceof KernelCommandError
          ? { id, exitCode: err.exitCode, stderr: err.stderr }
          : { id, error: failure(err) },
      ),
  );
});
// hostnetd ended, however it ended (kill -9 included): its spawner goes with it.
process.on("disconnect", () => process.exit(0));
