/** A long apply reports how far it has gone, and the daemon logs that at most every so often. */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { apply } from "../../../src/dataplane/apply.js";
import type { Runner } from "../../../src/dataplane/linux/exec.js";
import { LoopbackProxy } from "../../../src/dataplane/loopback-proxy.js";
import type { Op } from "../../../src/dataplane/plan.js";
import { progressLog } from "../../../src/dataplane/progress-log.js";
import { Resolver } from "../../../src/dns/resolver.js";
import { batches, steps } from "../../../src/dataplane/render/steps.js";
import { bridge, gw4, gw6, masq4, natBridge } from "./samples.js";

describe("apply", () => {
  it("reports the kernel steps done after each batch, ending with all of them", async () => {
    const ops: Op[] = [bridge, gw4, gw6, natBridge, masq4].map((object) => ({ action: "create", object }));
    const total = batches(steps(ops)).reduce((n, b) => n + b.lines.length, 0);
    const runner: Runner = { run: () => Promise.resolve({ stdout: "", stderr: "" }) };
    const heard: [number, number][] = [];
    const nameless = {
      version: () => 0,
      network: () => undefined,
      addresses: () => undefined,
      nameOf: () => undefined,
    };
    await apply(runner, { proxy: new LoopbackProxy(), resolver: new Resolver(nameless) }, ops, (done, all) =>
      heard.push([done, all]),
    );
    expect(heard.length).toBeGreaterThan(1);
    expect(heard.every(([, all]) => all === total)).toBe(true);
    expect(heard.map(([done]) => done)).toStrictEqual([...heard.map(([done]) => done)].sort((a, b) => a - b));
    expect(heard.at(-1)).toStrictEqual([total, total]);
  });
});

describe("progressLog", () => {
  it("logs at most once per interval, never at the end, so a short apply logs nothing", () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { base: null },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    let clock = 0;
    const progress = progressLog(log, { op: "startup-converge" }, 2000, () => clock);
    clock = 500;
    progress(10, 100);
    clock = 2100;
    progress(40, 100);
    clock = 3000;
    progress(60, 100);
    clock = 4200;
    progress(80, 100);
    clock = 9000;
    progress(100, 100);
    expect(
      lines.map(({ op, done, total, elapsedMs, msg }) => ({ op, done, total, elapsedMs, msg })),
    ).toStrictEqual([
      {
        op: "startup-converge",
        done: 40,
        total: 100,
        elapsedMs: 2100,
        msg: "applied 40 of 100 kernel steps (40%)",
      },
      {
        op: "startup-converge",
        done: 80,
        total: 100,
        elapsedMs: 4200,
        msg: "applied 80 of 100 kernel steps (80%)",
      },
    ]);
  });
});
