import { encode, RECURSION_DESIRED } from "dns-packet";
import { describe, expect, it } from "vitest";
import { AnswerCache } from "../../../src/dns/answer-cache.js";

const query = (name: string, id: number): Buffer =>
  encode({ type: "query", id, flags: RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }] });
const answerTo = (q: Buffer): Buffer => Buffer.concat([q, Buffer.from([1, 2, 3])]);

describe("the answer cache", () => {
  it("gives a kept answer to the same query bytes with the asker's ID, in a buffer of its own", () => {
    const cache = new AnswerCache();
    cache.check(1);
    const first = query("web", 1);
    const kept = cache.keep(first, answerTo(first));
    const again = cache.answer(query("web", 0xbeef));
    expect(again?.readUInt16BE(0)).toBe(0xbeef);
    expect(again?.subarray(2)).toEqual(kept.subarray(2));
    expect(kept.readUInt16BE(0)).toBe(1);
    expect(cache.answer(query("Web", 2))).toBeUndefined();
  });

  it("forgets answers and clients once the book's version changes", () => {
    const cache = new AnswerCache();
    cache.check(1);
    const q = query("web", 1);
    cache.keep(q, answerTo(q));
    let asked = 0;
    const onNetwork = () => {
      asked++;
      return true;
    };
    expect(cache.allows("10.0.0.2", onNetwork)).toBe(true);
    expect(cache.allows("10.0.0.2", onNetwork)).toBe(true);
    expect(asked).toBe(1);
    cache.check(1);
    expect(cache.answer(q)).toBeDefined();
    cache.check(2);
    expect(cache.answer(q)).toBeUndefined();
    expect(cache.allows("10.0.0.2", () => false)).toBe(false);
  });
});
