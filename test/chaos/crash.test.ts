/**
 * kill -9 of hostnetd at random moments during HOSTNET_CHAOS_OPERATIONS (500) mixed operations through all
 * its doors, restarted each time (helpers/chaos.ts says what is checked after each restart).
 */
import { describe, expect, it } from "vitest";
import { runCrashChaos } from "../helpers/chaos.js";
import { report, seed, size } from "../helpers/figures.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("crash chaos", () => {
  // Under load, a restart with hundreds of objects to observe takes longer than the default 20 s.
  const lab = useLab({ readyWithinMs: 90_000 });

  it("loses no acknowledged endpoint, leaks nothing and gives no address twice across kill -9", async () => {
    const figures = await runCrashChaos(lab.t, lab.d, {
      operations: size("HOSTNET_CHAOS_OPERATIONS", 500),
      seed,
      progress: (line) => process.stdout.write(`crash chaos: ${line}\n`),
    });
    report("crash chaos", figures);
    expect(figures.kills).toBeGreaterThanOrEqual(10);
    expect(figures).toMatchObject({
      leaked: [],
      missing: [],
      lost: [],
      duplicates: [],
      integrity: [],
      planAfterStart: [],
      serverErrors: [],
    });
  }, 2_400_000);
});
