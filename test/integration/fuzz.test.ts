/** The short version of the chaos lane's fuzzer (test/chaos/fuzz.test.ts): 500 malformed requests. */
import { describe, expect, it } from "vitest";
import { report, seed } from "../helpers/figures.js";
import { fuzzFixtures, runFuzz } from "../helpers/fuzz.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("fuzzing the REST API, short", () => {
  const lab = useLab();

  it("answers every malformed request with a 4xx that changes nothing", async () => {
    const fixtures = await fuzzFixtures(lab);
    const figures = await runFuzz(lab.d, fixtures, { requests: 500, seed });
    report("fuzz", figures);
    expect(figures).toMatchObject({
      serverErrors: [],
      changedByRefused: [],
      planNotEmpty: [],
      closedEarly: [],
      alive: true,
    });
  }, 180_000);
});
