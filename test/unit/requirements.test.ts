/** What hostnetd says at start when the host lacks what it needs. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { missingPrograms, nodeProblem } from "../../src/requirements.js";

describe("requirements", () => {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-path-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("names each package whose programs are not on PATH, with the programs it lacks", () => {
    for (const command of ["ip", "bridge", "nft", "nsenter"]) {
      writeFileSync(join(dir, command), "#!/bin/sh\n");
      chmodSync(join(dir, command), 0o755);
    }
    writeFileSync(join(dir, "tc"), "not executable");
    expect(missingPrograms(dir)).toEqual(["iproute2 (tc)", "conntrack (conntrack)"]);
    expect(missingPrograms("")).toHaveLength(4);
  });

  it("refuses a Node older than the engines range, and takes the same or newer", () => {
    expect(nodeProblem("20.18.3", ">=20.19")).toBe("Node 20.18.3 is too old: hostnet needs Node >=20.19");
    expect(nodeProblem("20.19.0", ">=20.19")).toBeUndefined();
    expect(nodeProblem("22.1.0", ">=20.19")).toBeUndefined();
  });
});
