/**
 * What hostnet's own applies made, and when. The kernel's monitors report a removal some time after it
 * happened, later on a busy host: a removal of an object hostnet made shortly before may predate it (an
 * admin's delete that a periodic check repaired before the report was read, or the delete a replace does
 * itself). Such a removal is checked against the kernel rather than trusted.
 */
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
