/** HOSTNET_PARALLEL (100) endpoint creates at once, then as many CNI ADDs and DELs (helpers/parallel.ts). */
import { describe, expect, it } from "vitest";
import { report, size } from "../helpers/figures.js";
import { useLab } from "../helpers/lab.js";
import { runParallel } from "../helpers/parallel.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("concurrency", () => {
  // Under load, hostnetd takes longer than the default 20 s to answer its first request.
  const lab = useLab({ readyWithinMs: 90_000 });

  it("gives distinct addresses to parallel creates, ADDs and DELs, and leaves the host consistent", async () => {
    const figures = await runParallel(lab, size("HOSTNET_PARALLEL", 100));
    report("parallel", figures);
    expect(figures).toMatchObject({ errors: [], duplicates: [], leaked: [], missing: [], plan: 0 });
  });
});
