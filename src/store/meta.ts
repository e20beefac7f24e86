/** What the store keeps about hostnetd itself: a few keys and values, among them its instance's identity. */
import { randomBytes } from "node:crypto";
import type { Prepare } from "./statements.js";

export class MetaStore {
  constructor(private readonly prepare: Prepare) {}

  get(key: string): string | undefined {
    return this.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
  }

  set(key: string, value: string): void {
    this.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  /**
   * This state directory's identity, made at first use: namespaces under /run/netns are seen by every
   * hostnetd on the machine, and each must know its own from another's.
   */
  instanceId(): string {
    const known = this.get("instance");
    if (known !== undefined) return known;
    const id = randomBytes(8).toString("hex");
    this.set("instance", id);
    return id;
  }
}
