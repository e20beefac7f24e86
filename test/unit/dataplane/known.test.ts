import { describe, expect, it } from "vitest";
import { KnownObjects } from "../../../src/dataplane/known.js";
import { identity } from "../../../src/dataplane/objects.js";
import * as s from "./samples.js";

const ids = (objects: readonly { kind: string }[]): string[] =>
  objects.map((o) => identity(o as never)).sort();

describe("KnownObjects", () => {
  it("answers by owner, once per owner however often it is named", () => {
    const known = new KnownObjects(s.everything);
    expect(ids(known.ofOwners([s.EP, s.EP]))).toEqual(ids(s.endpoint));
    expect(ids(known.ofOwners(["global"]))).toEqual(ids(s.globals));
    expect(known.ofOwners(["orphan"])).toEqual([]);
  });

  it("forgets a deleted parent's descendants, whoever owns them", () => {
    const known = new KnownObjects(s.everything);
    known.forget(identity(s.bridge), true);
    // The bridge's addresses and sysctl went with it; the veth and vxlan are its ports, not its children.
    expect(ids(known.ofOwners([s.NET]))).toEqual(ids([s.natBridge, s.masq4, s.vxlan, s.peer]));
    known.forget(identity(s.veth), true);
    expect(ids(known.ofOwners([s.EP]))).toEqual(ids([s.portmap]));
  });

  it("keeps the children of an object forgotten without them, and re-indexes a replaced object", () => {
    const known = new KnownObjects(s.everything);
    known.forget(identity(s.table), false);
    expect(ids(known.ofOwners([s.NET]))).toContain(identity(s.natBridge));
    known.set({ ...s.bridge, mtu: 9000 });
    expect(known.all()).toHaveLength(s.everything.length - 1);
    expect(known.ofOwners([s.NET]).find((o) => o.kind === "bridge")).toMatchObject({ mtu: 9000 });
  });
});
