/** The short version of test/chaos/parallel.test.ts: 20 endpoint creates at once, then as many CNI ADDs and DELs (helpers/parallel.ts). */
import { describe, expect, it } from "vitest";
import { report } from "../helpers/figures.js";
import { useLab } from "../helpers/lab.js";
import { runParallel } from "../helpers/parallel.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("concurrency, short", () => {
  const lab = useLab();

  it("gives distinct addresses to parallel creates, ADDs and DELs, and leaves the host consistent", async () => {
    const figures = await runParallel(lab, 20);
    report("parallel", figures);
    expect(figures).toMatchObject({ errors: [], duplicates: [], leaked: [], missing: [], plan: 0 });
  }, 120_000);
});
