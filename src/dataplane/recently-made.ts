/**
 * What hostnet's own applies made, and when. The kernel's monitors report a removal some time after it
 * happened, later on a busy host: a removal of an object hostnet made shortly before may predate it (an
 * admin's delete that a periodic check repaired before the report was read, or the delete a replace does
 * itself). Such a removal is checked against the kernel rather than trusted.
 */
import type { KnownObjects } from "./known.js";
import { identity } from "./objects.js";
import { replaceDestroysChildren, type Op } from "./plan.js";

export class RecentlyMade {
  /** Oldest first: a make moves its object to the end. */
  private readonly at = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  add(ids: Iterable<string>, now: number): void {
    for (const id of ids) {
      this.at.delete(id);
      this.at.set(id, now);
    }
    for (const [id, t] of this.at) {
      if (now - t <= this.windowMs) break;
      this.at.delete(id);
    }
  }

  /** Whether `id` was made less than the window before a removal seen at `seenAt`, or after it. */
  before(id: string, seenAt: number): boolean {
    const t = this.at.get(id);
    return t !== undefined && seenAt - t <= this.windowMs;
  }
}

/**
 * What applying `op` makes, or removes to make again: a replaced object (with what the kernel takes along
 * when it is deleted and made anew), or a table, whose create deletes the (empty) table it adds first. A
 * table's own removals are `<id> table`; what it holds (chains, rules, sets) removed right after a create
 * is still drift.
 */
export function madeBy(op: Op, known: KnownObjects): string[] {
  const id = identity(op.object);
  if (op.action === "delete") return [];
  if (op.object.kind === "nftTable")
    return [`${id} table`, ...(op.action === "replace" ? known.descendants(id) : [])];
  if (op.action === "replace" && replaceDestroysChildren(op.object, op.from)) return known.descendants(id);
  return [id];
}
