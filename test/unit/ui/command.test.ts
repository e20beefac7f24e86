/** `hostnet ui`'s own refusals, before it serves anything (test/integration/ui.test.ts serves the page). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, startFakeHostnetd, type FakeHostnetd } from "../cli/fake-hostnetd.js";

let hostnetd: FakeHostnetd;
beforeEach(async () => {
  hostnetd = await startFakeHostnetd();
});
afterEach(async () => {
  await hostnetd.close();
});

describe("hostnet ui", () => {
  it.each(["localhost:9470", "70000", "127.0.0.1:"])(
    "refuses --listen %s as a usage error",
    async (listen) => {
      const result = await runCli(["--socket", hostnetd.socket, "ui", "--listen", listen]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--listen "${listen}" is not [ADDR:]PORT`);
      expect(hostnetd.requests).toStrictEqual([]);
    },
  );

  it("says at once that hostnetd is not there, rather than serve an empty page", async () => {
    const result = await runCli(["--socket", `${hostnetd.dir}/none.sock`, "ui", "--listen", "127.0.0.1:0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^hostnet: hostnetd is not running at /);
    expect(result.stdout).toBe("");
  });
});
