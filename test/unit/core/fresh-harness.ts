import { afterEach, beforeEach } from "vitest";
import { harness, type Harness } from "../harness.js";

/**
 * Gives each test of the calling file a fresh harness and closes it after the test. What it returns stands
 * for the running test's harness (property reads go to it), so the file's tests and helpers share one `h`
 * declared once, as they would a harness; a test that needs a harness of its own options makes one.
 */
export function freshHarnessPerTest(): Harness {
  let current: Harness | undefined;
  beforeEach(() => {
    current = harness();
  });
  afterEach(() => {
    current?.close();
    current = undefined;
  });
  return new Proxy({} as Harness, {
    get: (_target, key) => {
      if (current === undefined) throw new Error("the harness exists only while a test runs");
      const value: unknown = Reflect.get(current, key);
      return value;
    },
  });
}
