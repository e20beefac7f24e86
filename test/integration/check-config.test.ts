/**
 * A configuration file as an admin handles it. `hostnetd --check-config` before a restart: the installed daemon reads the file, says
 * whether it is valid, names the key that is not, and touches nothing in the kernel either way.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHostnetd } from "../helpers/daemon.js";
import { useLab } from "../helpers/lab.js";
import { linkNames, nftTables } from "../helpers/kernel-state.js";
import { needsRoot } from "../helpers/root.js";
import { createTopology, type Topology } from "../helpers/topology.js";

describe.skipIf(needsRoot)("hostnetd --check-config", () => {
  let t: Topology;
  let dir = "";
  const file = (name: string, content: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };

  beforeAll(async () => {
    t = await createTopology();
    dir = mkdtempSync(join(tmpdir(), "hostnet-check-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.destroy();
  });

  it("says a valid file is valid and prints what it resolves to, exit 0", async () => {
    const r = await runHostnetd(t.host, [
      "--check-config",
      "--config",
      file("good.json", { logLevel: "debug", socket: join(dir, "h.sock") }),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/good\.json is valid/);
    expect(r.stdout).toMatch(/"logLevel": "debug"/);
  });

  it("names an unknown key and a key of the wrong type, exit 1, and leaves the kernel as it was", async () => {
    const links = await linkNames(t.host);
    const tables = await nftTables(t.host);
    const unknown = await runHostnetd(t.host, [
      "--check-config",
      "--config",
      file("typo.json", { sokcet: "x" }),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/typo\.json: unknown key "sokcet"/);
    const wrongType = await runHostnetd(t.host, ["--config", file("type.json", { logLevel: 7 })]);
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/logLevel/);
    expect(await linkNames(t.host)).toEqual(links);
    expect(await nftTables(t.host)).toEqual(tables);
  });
});

describe.skipIf(needsRoot)("SIGHUP on a running hostnetd", () => {
  const lab = useLab();

  it("applies the log level of the file read again, names what needs a restart, and keeps serving", async () => {
    const { d } = lab;
    // The test daemon's configuration file sits beside its socket (test/helpers/daemon.ts).
    writeFileSync(
      join(dirname(d.socket), "hostnetd.json"),
      JSON.stringify({ logLevel: "debug", repairLimit: 3 }),
    );
    process.kill(d.pid, "SIGHUP");
    const deadline = Date.now() + 10_000;
    while (!d.logs().includes("configuration read again") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const reloaded = d
      .logs()
      .split("\n")
      .find((l) => l.includes("configuration read again"));
    expect(JSON.parse(reloaded ?? "{}")).toMatchObject({
      applied: ["logLevel"],
      needRestart: ["repairLimit"],
    });
    await lab.network("n1", ["10.59.0.0/24"]);
    expect(d.logs()).toMatch(/"op":"exec"/);
  });
});
