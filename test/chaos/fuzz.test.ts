/**
 * HOSTNET_FUZZ_REQUESTS (10,000) malformed requests drawn from /openapi.json (helpers/fuzz.ts): no 5xx,
 * hostnetd alive, and nothing a refused request changed.
 */
import { describe, expect, it } from "vitest";
import { report, seed, size } from "../helpers/figures.js";
import { fuzzFixtures, runFuzz } from "../helpers/fuzz.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("fuzzing the REST API", () => {
  // Under load, hostnetd takes longer than the default 20 s to answer its first request.
  const lab = useLab({ readyWithinMs: 90_000 });

  it("answers every malformed request with a 4xx that changes nothing", async () => {
    const fixtures = await fuzzFixtures(lab);
    const figures = await runFuzz(lab.d, fixtures, { requests: size("HOSTNET_FUZZ_REQUESTS", 10_000), seed });
    report("fuzz", figures);
    expect(figures).toMatchObject({
      serverErrors: [],
      changedByRefused: [],
      planNotEmpty: [],
      closedEarly: [],
      alive: true,
    });
  });
});
