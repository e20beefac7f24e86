/** The memory kernel stands in for Linux in the service and API tests, so it must behave like it. */
import { describe, expect, it } from "vitest";
import { identity, type KernelObject } from "../../src/dataplane/objects.js";
import type { Op } from "../../src/dataplane/plan.js";
import { KernelCommandError } from "../../src/dataplane/linux/exec.js";
import { MemoryKernel } from "../helpers/memory-kernel.js";
import { create, del, replace } from "../helpers/plan-ops.js";
import {
  addr4,
  bridge,
  BRIDGE,
  clink,
  EP,
  everything,
  forward,
  gw4,
  localnet,
  natBridge,
  NS,
  peer,
  portmap,
  route4,
  table,
  veth,
  vxlan,
} from "./dataplane/samples.js";

const ns = { id: "x", name: "c1", path: NS, owned: true };

describe("MemoryKernel", () => {
  it("applies creates and records the op list", async () => {
    const k = new MemoryKernel();
    const ops = [create(bridge), create(gw4)];
    await k.apply(ops);
    expect(k.list()).toEqual([bridge, gw4]);
    expect(k.applied).toEqual([ops]);
  });

  it("deletes children with their parent, transitively", async () => {
    const k = new MemoryKernel(everything);
    await k.apply([del(veth)]);
    for (const o of [veth, clink, addr4, route4]) expect(k.has(identity(o))).toBe(false);
    await k.apply([del(bridge)]);
    expect(k.has(identity(gw4))).toBe(false);
    expect(k.has(identity(localnet))).toBe(false);
    await k.apply([del(table)]);
    expect(k.ofKind("nftElement")).toEqual([]);
  });

  it("a veth pair dies together: deleting the container end takes the host end", async () => {
    const k = new MemoryKernel([bridge, veth, clink, addr4]);
    await k.apply([del(clink)]);
    expect(k.list()).toEqual([bridge]);
  });

  it("deleting a netns takes what lives in it and the veths whose peer was there", async () => {
    const netns: KernelObject = { kind: "netns", owner: "ns:x", name: "c1", instance: "0123456789abcdef" };
    const k = new MemoryKernel([netns, bridge, veth, clink, addr4, route4]);
    await k.apply([del(netns)]);
    expect(k.list()).toEqual([bridge]);
  });

  it("deleting a bridge unenslaves its ports", async () => {
    const k = new MemoryKernel([bridge, veth, vxlan]);
    await k.apply([del(bridge)]);
    expect(k.list()).toEqual([
      { ...veth, master: "" },
      { ...vxlan, master: "" },
    ]);
  });

  it("replacing a vxlan device drops its peers", async () => {
    const k = new MemoryKernel([bridge, vxlan, peer]);
    await k.apply([replace(vxlan, { ...vxlan, vni: 4097 })]);
    expect(k.has(identity(peer))).toBe(false);
  });

  it("replacing a veth or the table drops their children; other replaces keep them", async () => {
    const k = new MemoryKernel([bridge, gw4, veth, clink, addr4, table, natBridge]);
    await k.apply([replace(veth, { ...veth, mtu: 9000 })]);
    expect(k.has(identity(clink))).toBe(false);
    await k.apply([replace(table, { ...table, version: "new" })]);
    expect(k.has(identity(natBridge))).toBe(false);
    await k.apply([replace(bridge, { ...bridge, mtu: 9000 })]);
    expect(k.has(identity(gw4))).toBe(true);
  });

  it.each<[string, KernelObject[], Op[]]>([
    ["creating a link that exists", [bridge], [create(bridge)]],
    ["creating an address on a missing link", [], [create(gw4)]],
    ["creating an element without the table", [], [create(portmap)]],
    ["enslaving a veth to a missing bridge", [], [create(veth)]],
    ["enslaving a vxlan device to a missing bridge", [], [create(vxlan)]],
    ["creating a peer without its vxlan device", [bridge], [create(peer)]],
    ["deleting what is not there", [], [del(route4)]],
    ["replacing what is not there", [], [replace(bridge, bridge)]],
  ])("refuses %s, atomically, like the kernel", async (_what, initial, ops) => {
    const k = new MemoryKernel(initial);
    const before = k.list();
    await expect(k.apply([create(forward), ...ops])).rejects.toBeInstanceOf(KernelCommandError);
    expect(k.list()).toEqual(before);
    expect(k.refused).toHaveLength(1);
    expect(k.applied).toEqual([]);
  });

  it("accepts anything when not strict", async () => {
    const k = new MemoryKernel([], { strict: false });
    await k.apply([create(gw4), del(route4)]);
    expect(k.list()).toEqual([gw4]);
  });

  it("fails the next applies when told to, changing nothing", async () => {
    const k = new MemoryKernel();
    k.failNext(2, new Error("boom"));
    await expect(k.apply([create(bridge)])).rejects.toThrow("boom");
    await expect(k.apply([create(bridge)])).rejects.toThrow("boom");
    await k.apply([create(bridge)]);
    expect(k.list()).toEqual([bridge]);
    expect(k.refused.map((r) => r.ops)).toEqual([[create(bridge)], [create(bridge)]]);
  });

  it("sees inside a namespace only when it is given, as the Linux observer does", async () => {
    const k = new MemoryKernel([bridge, veth, clink, addr4]);
    expect(await k.observe([])).toEqual([bridge, veth]);
    expect(await k.observe([ns])).toEqual([bridge, veth, clink, addr4]);
    expect(k.observations).toBe(2);
  });

  it("filters by owner and kind", () => {
    const k = new MemoryKernel(everything);
    expect(k.ownedBy(EP).map((o) => o.kind)).toContain("veth");
    expect(k.ofKind("bridge").map((b) => b.name)).toEqual([BRIDGE]);
  });
});
