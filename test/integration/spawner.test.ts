import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

/** The PIDs of the spawner processes `pid` started (its children running spawner-process.js). */
function spawnersOf(pid: number): number[] {
  const children = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, "utf8")
    .split(" ")
    .filter((s) => s !== "")
    .map(Number);
  return children.filter((child) => {
    try {
      return readFileSync(`/proc/${String(child)}/cmdline`, "utf8").includes("spawner-process.js");
    } catch {
      return false;
    }
  });
}

const alive = (pid: number): boolean => existsSync(`/proc/${String(pid)}`);

describe.skipIf(needsRoot)("the spawner: hostnetd's commands run from a small process of its own", () => {
  const lab = useLab();

  it("runs hostnetd's commands, and is started again when it is killed", async () => {
    const { d } = lab;
    await lab.network("n1", ["10.59.0.0/24"]);
    const [spawner] = spawnersOf(d.pid);
    expect(spawner).toBeDefined();
    process.kill(spawner ?? 0, "SIGKILL");
    await expect.poll(() => alive(spawner ?? 0)).toBe(false);
    await lab.network("n2", ["10.59.1.0/24"]);
    expect(spawnersOf(d.pid)).toHaveLength(1);
    expect(await lab.plan()).toEqual([]);
  });

  it("ends when hostnetd is killed", async () => {
    const { d } = lab;
    const [spawner] = spawnersOf(d.pid);
    expect(spawner).toBeDefined();
    await d.kill("SIGKILL");
    await expect.poll(() => alive(spawner ?? 0), { timeout: 5000 }).toBe(false);
    await d.restart();
    expect(await lab.plan()).toEqual([]);
  });
});
