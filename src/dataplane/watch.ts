/**
 * Continuous convergence: removals the kernel's monitors report are gathered for a moment, those that took
 * something of the record are drift, and drift is repaired; a periodic full check covers what no monitor
 * reports (changes rather than removals, namespaces without a veth). One check runs at a time. hostnet's
 * own applies do not loop: what they delete the record no longer has, a removal of what they replaced just
 * before is checked against the kernel (Reconciler.drifted), and what they make is no removal.
 */
import type { Logger } from "pino";
import type { Removal } from "./kernel-events.js";
import type { Daemonised } from "./linux/exec.js";
import type { MonitorEvents } from "./linux/monitors.js";
import type { Drift, RepairScope } from "./drift.js";

export interface WatchOptions {
  /** How often the full check runs, in ms; 0 for never. */
  readonly resyncMs: number;
  /** How long removals are gathered after the first one before they are checked. */
  readonly gatherMs: number;
}

/** hostnetd --resync-interval's default, and how long a burst of removals (a deleted veth's) takes. */
export const defaultWatchOptions: WatchOptions = { resyncMs: 30_000, gatherMs: 100 };

/**
 * A full check holds the reconciler while it plans and repairs (not while it reads the kernel), and every
 * write waits behind that: the next one starts no sooner than this many times the last one's length after
 * it, so that checks take at most a fifth of the time however many objects there are (at 10,000 load
 * balancers one takes longer than the interval).
 */
const CHECK_SPACING = 4;

export type StartMonitors = (events: MonitorEvents) => Daemonised;

export class DriftWatcher {
  private pending: Removal[] = [];
  private gathering: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private stopped = false;
  private checks: Promise<void> = Promise.resolve();
  private monitors: Daemonised | undefined;

  constructor(
    private readonly reconciler: { drifted(removals: readonly Removal[], seenAt: number): Promise<Drift> },
    /** Repairs the drift `cause` found, or everything. */
    private readonly repair: (cause: string, drift: RepairScope) => Promise<void>,
    private readonly log: Logger,
    private readonly opts: WatchOptions = defaultWatchOptions,
  ) {}

  start(startMonitors: StartMonitors): void {
    this.monitors = startMonitors({
      removal: (r) => {
        this.removed(r);
      },
      gap: (why) => {
        this.log.warn({ op: "watch" }, why);
        this.enqueue(() => this.repair(why, "all"));
      },
    });
    if (this.opts.resyncMs > 0) this.checkPeriodicallyIn(this.opts.resyncMs);
  }

  /** Stops watching, after the check under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.periodic);
    clearTimeout(this.gathering);
    this.monitors?.stop();
    await this.checks;
  }

  private removed(r: Removal): void {
    this.pending.push(r);
    const seenAt = performance.now();
    this.gathering ??= setTimeout(() => {
      this.gathering = undefined;
      const removals = this.pending;
      this.pending = [];
      this.enqueue(async () => {
        const drift = await this.reconciler.drifted(removals, seenAt);
        if (drift.removals.length > 0) await this.repair(drift.causes.join("; "), drift);
      });
    }, this.opts.gatherMs);
  }

  /** The next periodic check, `delayMs` from now; the one after it is timed from its end. */
  private checkPeriodicallyIn(delayMs: number): void {
    this.periodic = setTimeout(() => {
      this.enqueue(async () => {
        const started = Date.now();
        try {
          await this.repair("periodic check", "all");
        } finally {
          const spaced = Math.max(this.opts.resyncMs, CHECK_SPACING * (Date.now() - started));
          if (!this.stopped) this.checkPeriodicallyIn(spaced);
        }
      });
    }, delayMs);
  }

  private enqueue(check: () => Promise<void>): void {
    this.checks = this.checks.then(check).catch((err: unknown) => {
      this.log.error({ op: "repair", err }, "could not repair drift");
    });
  }
}
