/**
 * Type=notify as systemd sees it: hostnetd sends READY=1 (through systemd-notify) on $NOTIFY_SOCKET once its
 * startup converge has finished and its socket answers, so units ordered after it start against a ready daemon.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";

describe.skipIf(needsRoot)("readiness for systemd", () => {
  const dir = mkdtempSync(join(tmpdir(), "hostnet-notify-"));
  const notifySocket = join(dir, "notify");
  // The service manager's end: a unix datagram socket that prints what it is told.
  const manager = spawn("socat", ["-u", `UNIX-RECV:${notifySocket}`, "STDOUT"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let heard = "";
  manager.stdout.on("data", (b: Buffer) => (heard += b.toString()));
  afterAll(() => {
    manager.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const lab = useLab({ env: { NOTIFY_SOCKET: notifySocket } });

  it("says READY=1 with the socket it serves, and answers by then", async () => {
    const deadline = Date.now() + 10_000;
    while (!heard.includes("READY=1") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(heard).toContain("READY=1");
    expect(heard).toContain(`STATUS=serving ${lab.d.socket}`);
    expect((await lab.d.api("GET", "/globals/version")).status).toBe(200);
  });
});
