/**
 * Repairs never fight an admin forever: an object repaired `limit` times within a minute is held back (not
 * repaired again) for a while, twice as long each time the fight goes on within a window of the last hold's
 * end, until the hold passes or a write to its owner asks for it again. Requests never wait on a hold; only
 * repairs do.
 */
import type { Owner } from "./naming.js";
import { identity, prerequisitesOf } from "./objects.js";
import type { Op } from "./plan.js";

/** How repairs are limited (hostnetd --repair-limit). */
export interface RepairLimits {
  /** Repairs of one object within `windowMs` before it is held back. */
  readonly limit: number;
  readonly windowMs: number;
  /** The first hold; each next one of the same object is twice as long, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export const defaultRepairLimits: RepairLimits = {
  limit: 5,
  windowMs: 60_000,
  backoffMs: 60_000,
  maxBackoffMs: 3_600_000,
};

/** An object a repair leaves alone for now, and why. */
export interface Hold {
  readonly identity: string;
  readonly owner: Owner;
  readonly until: Date;
  readonly reason: string;
}

interface Record {
  readonly owner: Owner;
  /** When it was repaired within the window, oldest first. */
  repairs: number[];
  /** How many times it was held back since its owner was last written. */
  holds: number;
  until: number;
}

export class RepairHolds {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly limits: RepairLimits = defaultRepairLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The ops a repair may apply now. An object repaired `limit` times within the window is held back from
   * now on (returned in `begun`, for the log); ops on held objects, and ops that need one (a held veth's
   * addresses), are left out.
   */
  admit(ops: readonly Op[]): { apply: Op[]; begun: Hold[] } {
    const now = this.now();
    const begun: Hold[] = [];
    for (const op of ops) {
      const id = identity(op.object);
      const r = this.records.get(id);
      if (r === undefined || r.until > now) continue;
      r.repairs = r.repairs.filter((at) => at > now - this.limits.windowMs);
      if (r.repairs.length < this.limits.limit) continue;
      r.holds++;
      r.until = now + Math.min(this.limits.backoffMs * 2 ** (r.holds - 1), this.limits.maxBackoffMs);
      r.repairs = [];
      begun.push(this.hold(id, r));
    }
    const held = this.heldBack(ops);
    return { apply: ops.filter((op) => !held.has(identity(op.object))), begun };
  }

  /** Why each op a repair would leave out now is left out, by the identity of its object. */
  heldBack(ops: readonly Op[]): Map<string, string> {
    const now = this.now();
    const held = new Map<string, string>();
    for (const op of ops) {
      const id = identity(op.object);
      const r = this.records.get(id);
      if (r !== undefined && r.until > now) {
        held.set(id, this.hold(id, r).reason);
        continue;
      }
      // Ops come parents first: one that needs a held object is held back with it.
      const waitsFor = prerequisitesOf(op.object).find((p) => held.has(p));
      if (op.action !== "delete" && waitsFor !== undefined) held.set(id, `needs ${waitsFor}, held back`);
    }
    return held;
  }

  /** Counts one repair of the object of each op a repair applied. */
  repaired(ops: readonly Op[]): void {
    const now = this.now();
    this.forgetQuiet(now);
    for (const op of ops) {
      const id = identity(op.object);
      const r = this.records.get(id) ?? { owner: op.object.owner, repairs: [], holds: 0, until: 0 };
      r.repairs.push(now);
      this.records.set(id, r);
    }
  }

  /** A write to these owners asks for their objects again: their holds end and their counts start over. */
  release(owners: readonly Owner[]): void {
    for (const [id, r] of this.records) if (owners.includes(r.owner)) this.records.delete(id);
  }

  private hold(id: string, r: Record): Hold {
    const until = new Date(r.until);
    return {
      identity: id,
      owner: r.owner,
      until,
      reason: `repaired ${this.limits.limit} times within ${this.limits.windowMs / 1000} s; held back until ${until.toISOString()}`,
    };
  }

  /** An object left alone for a window since its last repair and hold is forgiven: its holds count anew. */
  private forgetQuiet(now: number): void {
    const since = now - this.limits.windowMs;
    for (const [id, r] of this.records)
      if (r.until <= since && r.repairs.every((at) => at <= since)) this.records.delete(id);
  }
}
