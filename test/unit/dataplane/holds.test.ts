import { describe, expect, it } from "vitest";
import { RepairHolds } from "../../../src/dataplane/holds.js";
import { identity } from "../../../src/dataplane/objects.js";
import type { Op } from "../../../src/dataplane/plan.js";
import { address, bridgeLink, create } from "../../helpers/plan-ops.js";

const NET = "net:9c0d1e2f-0000";
const bridge = bridgeLink(NET, "hnb-9c0d1e2f");
const gateway = address(NET, null, "hnb-9c0d1e2f", "10.9.0.1/24");
const other = bridgeLink("net:aaaaaaaa-0000", "hnb-aaaaaaaa");
const MINUTE = 60_000;

/** Holds on a clock the test moves; two repairs a minute before an object is held back for a minute. */
function holds(): { holds: RepairHolds; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const limits = { limit: 2, windowMs: MINUTE, backoffMs: MINUTE, maxBackoffMs: 3 * MINUTE };
  return { holds: new RepairHolds(limits, () => clock.now), clock };
}

/** One repair: what it may apply is applied, and counted. */
function repair(h: RepairHolds, ops: readonly Op[]): { applied: string[]; begun: string[] } {
  const { apply, begun } = h.admit(ops);
  h.repaired(apply);
  return { applied: apply.map((op) => identity(op.object)), begun: begun.map((b) => b.identity) };
}

describe("RepairHolds", () => {
  it("repairs an object `limit` times a minute, then holds it back, and what needs it", () => {
    const { holds: h, clock } = holds();
    const ops = [create(bridge), create(gateway), create(other)];
    expect(repair(h, ops).applied).toHaveLength(3);
    clock.now += 1000;
    expect(repair(h, [create(bridge), create(gateway)]).applied).toHaveLength(2);
    clock.now += 1000;
    const third = repair(h, [create(bridge), create(gateway), create(other)]);
    expect(third.begun).toEqual([identity(bridge), identity(gateway)]);
    expect(third.applied).toEqual([identity(other)]);
    const why = h.heldBack([create(bridge), create(gateway)]);
    expect(why.get(identity(bridge))).toMatch(/^repaired 2 times within 60 s; held back until /);
    expect(why.get(identity(gateway))).toMatch(/held back/);
  });

  it("holds an object's dependants back with it, saying which it waits for", () => {
    const { holds: h } = holds();
    for (let i = 0; i < 3; i++) repair(h, [create(bridge)]);
    expect(h.heldBack([create(bridge), create(gateway)]).get(identity(gateway))).toBe(
      `needs ${identity(bridge)}, held back`,
    );
  });

  it("repairs again once the hold passed, and holds twice as long if the fight goes on", () => {
    const { holds: h, clock } = holds();
    for (let i = 0; i < 3; i++) repair(h, [create(bridge)]);
    clock.now += MINUTE + 1;
    expect(repair(h, [create(bridge)]).applied).toEqual([identity(bridge)]);
    repair(h, [create(bridge)]);
    expect(repair(h, [create(bridge)]).begun).toEqual([identity(bridge)]);
    clock.now += MINUTE + 1;
    expect(h.heldBack([create(bridge)]).size).toBe(1);
    clock.now += MINUTE;
    expect(h.heldBack([create(bridge)]).size).toBe(0);
  });

  it("forgives an object left alone for a window after its hold", () => {
    const { holds: h, clock } = holds();
    for (let i = 0; i < 3; i++) repair(h, [create(bridge)]);
    clock.now += 3 * MINUTE;
    for (let i = 0; i < 2; i++) repair(h, [create(bridge)]);
    const held = h.admit([create(bridge)]).begun;
    expect(held.map((b) => b.until.getTime() - clock.now)).toEqual([MINUTE]);
  });

  it("lets a write to the owner end the hold and start the count over", () => {
    const { holds: h } = holds();
    for (let i = 0; i < 3; i++) repair(h, [create(bridge), create(other)]);
    h.release([NET]);
    const next = repair(h, [create(bridge), create(other)]);
    expect(next.applied).toEqual([identity(bridge)]);
  });
});
