import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Removal } from "../../../src/dataplane/kernel-events.js";
import type { MonitorEvents } from "../../../src/dataplane/linux/monitors.js";
import type { Drift, RepairScope } from "../../../src/dataplane/drift.js";
import { DriftWatcher } from "../../../src/dataplane/watch.js";
import { silent } from "../harness.js";

const gone = (name: string): Removal => ({ kind: "link", where: null, name });

/** A watcher on monitors the test speaks for, and a record in which only `hnv-` links are hostnet's. */
function watcher(resyncMs = 0): {
  watcher: DriftWatcher;
  monitors: () => MonitorEvents;
  checked: Removal[][];
  repairs: [string, RepairScope][];
  stopped: () => boolean;
} {
  const checked: Removal[][] = [];
  const repairs: [string, RepairScope][] = [];
  let events: MonitorEvents | undefined;
  let stopped = false;
  const drifted = (removals: readonly Removal[]): Promise<Drift> => {
    checked.push([...removals]);
    const taken = removals.filter((r) => r.kind === "link" && r.name.startsWith("hnv-"));
    return Promise.resolve({
      removals: taken,
      causes: taken.map((r) => (r.kind === "link" ? r.name : "")),
      lost: taken.map((r) => (r.kind === "link" ? `link:${r.name}` : "")),
    });
  };
  const w = new DriftWatcher(
    { drifted },
    (cause, inside) => {
      repairs.push([cause, inside]);
      return Promise.resolve();
    },
    silent,
    { resyncMs, gatherMs: 100 },
  );
  w.start((e) => {
    events = e;
    return {
      stop: () => {
        stopped = true;
      },
    };
  });
  const monitors = (): MonitorEvents => {
    if (events === undefined) throw new Error("no monitors");
    return events;
  };
  return { watcher: w, monitors, checked, repairs, stopped: () => stopped };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("DriftWatcher", () => {
  it("gathers removals for a moment, checks them at once, and repairs only drift", async () => {
    const w = watcher();
    w.monitors().removal(gone("hnv-1"));
    await vi.advanceTimersByTimeAsync(50);
    w.monitors().removal(gone("other"));
    w.monitors().removal(gone("hnv-2"));
    expect(w.checked).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(w.checked).toEqual([[gone("hnv-1"), gone("other"), gone("hnv-2")]]);
    expect(w.repairs).toEqual([
      [
        "hnv-1; hnv-2",
        {
          removals: [gone("hnv-1"), gone("hnv-2")],
          causes: ["hnv-1", "hnv-2"],
          lost: ["link:hnv-1", "link:hnv-2"],
        },
      ],
    ]);
    await w.watcher.stop();
    expect(w.stopped()).toBe(true);
  });

  it("repairs nothing when no removal took anything of the record (hostnet's own deletes)", async () => {
    const w = watcher();
    w.monitors().removal(gone("eth0"));
    await vi.advanceTimersByTimeAsync(100);
    expect(w.checked).toHaveLength(1);
    expect(w.repairs).toEqual([]);
    await w.watcher.stop();
  });

  it("checks everything periodically, and after a monitor missed some time", async () => {
    const w = watcher(1000);
    await vi.advanceTimersByTimeAsync(2500);
    expect(w.repairs).toEqual([
      ["periodic check", "all"],
      ["periodic check", "all"],
    ]);
    w.monitors().gap("tc monitor ended (exit 1) and was started again");
    await vi.advanceTimersByTimeAsync(0);
    expect(w.repairs.at(-1)).toEqual(["tc monitor ended (exit 1) and was started again", "all"]);
    await w.watcher.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(w.repairs).toHaveLength(3);
  });
});

describe("DriftWatcher's periodic check", () => {
  it("waits at least four times as long as the last check took before the next", async () => {
    const started: number[] = [];
    const w = new DriftWatcher(
      { drifted: () => Promise.resolve({ removals: [], causes: [], lost: [] }) },
      async () => {
        started.push(Date.now());
        await new Promise((r) => setTimeout(r, 3000));
      },
      silent,
      { resyncMs: 1000, gatherMs: 100 },
    );
    w.start(() => ({ stop: () => undefined }));
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(30_000);
    await w.stop();
    // The first after the interval; each next one 4 × 3 s after the last one's end.
    expect(started.map((t) => t - t0)).toEqual([1000, 16_000]);
  });
});
