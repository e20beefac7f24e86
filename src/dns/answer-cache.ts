/**
 * A listener's own answers kept as sent, by the query's bytes after its ID: the same bytes (flags, question,
 * EDNS and all) ask the same question, which the same names answer the same way, so an answer is decoded,
 * looked up and encoded once and then sent again with the asker's ID. Whether a client may ask is kept too.
 * Both hold while the name book's version does: any write to the store drops them, so a deleted endpoint's
 * name is gone at once. Forwarded answers are never kept (the upstream's TTLs count down).
 */

/** Answers kept between two writes: names asked at random must not fill the heap. */
const KEPT_ANSWERS = 16_384;

export class AnswerCache {
  private version = Number.NaN;
  private readonly answers = new Map<string, Buffer>();
  private readonly clients = new Map<string, boolean>();

  /** Drops everything when the book changed since it was kept. */
  check(version: number): void {
    if (version === this.version) return;
    this.version = version;
    this.answers.clear();
    this.clients.clear();
  }

  /** Whether `client` may ask: `onNetwork` asked once per client between two writes. */
  allows(client: string, onNetwork: () => boolean): boolean {
    let allowed = this.clients.get(client);
    if (allowed === undefined) {
      allowed = onNetwork();
      this.clients.set(client, allowed);
    }
    return allowed;
  }

  /** The kept answer to `query`, with its ID, or undefined. */
  answer(query: Buffer): Buffer | undefined {
    if (query.length < 2) return undefined;
    const kept = this.answers.get(query.toString("latin1", 2));
    if (kept === undefined) return undefined;
    // A copy: the kept one may still be queued for another client with another ID.
    const answer = Buffer.allocUnsafe(kept.length);
    kept.copy(answer);
    query.copy(answer, 0, 0, 2);
    return answer;
  }

  /** Keeps `answer` to `query` (its ID is the query's) and returns it. */
  keep(query: Buffer, answer: Buffer): Buffer {
    if (this.answers.size >= KEPT_ANSWERS) this.answers.clear();
    this.answers.set(query.toString("latin1", 2), answer);
    return answer;
  }
}
