/**
 * Runs a bench that builds namespaces and daemons: everything it registers is cleaned up once, whether it
 * ends, fails or is interrupted (SIGINT, SIGTERM), whichever comes first.
 */
import { Cleanup } from "../test/helpers/cleanup.js";
import { destroyPrefix } from "../test/helpers/topology.js";

export interface BenchRun {
  readonly cleanup: Cleanup;
  /** The namespace prefix of what the bench builds, destroyed once more after cleanup. */
  readonly ownPrefix: (prefix: string) => void;
}

export async function runBench(name: string, main: (run: BenchRun) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  let prefix: string | undefined;
  let tearingDown: Promise<void> | undefined;
  const state = { signalled: false };
  const tearDown = (): Promise<void> =>
    (tearingDown ??= (async () => {
      try {
        await cleanup.run();
      } finally {
        // Again, for a namespace a step in flight may have added while cleanup ran.
        if (prefix !== undefined) await destroyPrefix(prefix);
      }
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    state.signalled = true;
    process.stderr.write(`\nbench/${name}: ${signal}, cleaning up\n`);
    tearDown()
      .catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`))
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await main({ cleanup, ownPrefix: (p) => (prefix = p) });
  } catch (err) {
    process.exitCode = 1;
    // After a signal the step in flight fails because its daemon or namespace is gone: not worth a report.
    if (!state.signalled)
      process.stderr.write(
        `bench/${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
  } finally {
    try {
      await tearDown();
    } catch (err) {
      process.exitCode = 1;
      process.stderr.write(`bench/${name} cleanup failed: ${String(err)}\n`);
      if (err instanceof AggregateError) for (const e of err.errors) process.stderr.write(`  ${String(e)}\n`);
    }
  }
}
