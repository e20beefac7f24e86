import { describe, expect, it } from "vitest";
import { RecentlyMade } from "../../../src/dataplane/recently-made.js";

describe("recently made", () => {
  it("holds an object for the window around its make, a make again restarting it", () => {
    const made = new RecentlyMade(10);
    made.add(["a", "b"], 100);
    expect([made.before("a", 95), made.before("a", 110), made.before("a", 111)]).toEqual([true, true, false]);
    made.add(["a"], 105);
    expect([made.before("a", 115), made.before("b", 115)]).toEqual([true, false]);
    expect(made.before("c", 100)).toBe(false);
  });

  it("forgets what is out of the window as it goes", () => {
    const made = new RecentlyMade(10);
    made.add(["a"], 0);
    made.add(["b"], 20);
    // "a" is gone, not just out of the window: a removal seen at 5 would otherwise count it.
    expect([made.before("a", 5), made.before("b", 25)]).toEqual([false, true]);
  });
});
