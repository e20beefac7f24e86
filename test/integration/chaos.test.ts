/**
 * The short versions of the chaos lane's runs (test/chaos/, `npm run test:chaos`): a few kills during 40
 * mixed operations.
 */
import { describe, expect, it } from "vitest";
import { runCrashChaos } from "../helpers/chaos.js";
import { report, seed } from "../helpers/figures.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("crash chaos, short", () => {
  // Under load, a restart with hundreds of objects to observe takes longer than the default 20 s.
  const lab = useLab({ readyWithinMs: 90_000 });

  it("loses no acknowledged endpoint, leaks nothing and gives no address twice across kill -9", async () => {
    const figures = await runCrashChaos(lab.t, lab.d, { operations: 40, seed, upMs: [1000, 3000] });
    report("crash chaos", figures);
    expect(figures.kills).toBeGreaterThanOrEqual(1);
    expect(figures).toMatchObject({
      leaked: [],
      missing: [],
      lost: [],
      duplicates: [],
      integrity: [],
      planAfterStart: [],
      serverErrors: [],
    });
  }, 120_000);
});
