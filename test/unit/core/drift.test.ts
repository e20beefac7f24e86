import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { identity, type KernelObject } from "../../../src/dataplane/objects.js";
import type { Removal } from "../../../src/dataplane/kernel-events.js";
import type { Drift } from "../../../src/dataplane/drift.js";
import type { Endpoint, Namespace } from "../../../src/model/types.js";
import { applyOps } from "../../helpers/memory-kernel.js";
import { del } from "../../helpers/plan-ops.js";
import { expectConverged, harness, uniqueName, type Harness } from "../harness.js";
import { epSpec, lbSpec, mapping, netSpec, subnet } from "./requests.js";

let h: Harness;
let dir: string;
beforeEach(() => {
  h = harness();
  dir = mkdtempSync(join(tmpdir(), "hostnet-drift-unit-"));
});
afterEach(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Removes an object from the kernel as Linux would, with what goes with it; the record keeps it. */
function removeBehindItsBack(id: string): void {
  const o = h.kernel.objects.get(id);
  if (o === undefined) throw new Error(`the kernel has no ${id}`);
  applyOps(h.kernel.objects, [del(o)]);
}

/** A network and an endpoint attached to a namespace (at a path of its own: adopted, when `adopt`). */
async function container(adopt = false): Promise<{ ep: Endpoint; ns: Namespace; veth: string }> {
  await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
  const name = uniqueName("c");
  const path = join(dir, name);
  if (adopt) writeFileSync(path, "");
  const ns = await h.service.createNamespace(adopt ? { name, path } : { name });
  const ep = await h.service.createEndpoint(
    epSpec("e1", "n1", { attach: { namespace: ns.name }, portMappings: [mapping(0, 8080)] }),
  );
  return { ep, ns, veth: `link:hnv-${ep.shortId}` };
}

const linkGone = (name: string): Removal => ({ kind: "link", where: null, name });

/** A removal seen long after hostnet made the object: the record is trusted, the kernel not observed. */
const settled = (): number => performance.now() + 60_000;

describe("drift", () => {
  it("is what took an object of the record; hostnet's own deletes are not", async () => {
    const { veth } = await container();
    const name = veth.slice("link:".length);
    removeBehindItsBack(veth);
    const drift = await h.reconciler.drifted([linkGone(name), linkGone("eth7")], settled());
    expect(drift.causes).toEqual([`link ${name} deleted`]);
    expect(drift.lost).toEqual([veth]);
    await h.reconciler.repair("test", drift);
    expectConverged(h);
    await h.service.deleteEndpoint("e1");
    expect((await h.reconciler.drifted([linkGone(name)], settled())).removals).toEqual([]);
  });

  it("in a container namespace, is found by the namespace's id in hostnetd's namespace", async () => {
    const { ns } = await container();
    // The namespace's default route, of its first attached endpoint (modes/gateway-routes.ts).
    const route = `route:${ns.path}:4:default#101000001`;
    removeBehindItsBack(route);
    const where = h.kernel.namespaceId(ns.path);
    const gone: Removal = {
      kind: "route",
      where,
      family: 4,
      dst: "default",
      via: "10.10.0.1",
      metric: 101000001,
    };
    const elsewhere: Removal = { ...gone, where: where + 1 };
    const drift = await h.reconciler.drifted([gone, elsewhere], settled());
    expect(drift).toMatchObject({
      causes: [`route default via 10.10.0.1 removed in ${ns.path}`],
      lost: [route],
    });
    // The repair of what the monitors reported observes nothing: the record forgets what they lost.
    const observed = h.kernel.observations;
    const { repaired } = await h.reconciler.repair("test", drift);
    expect(repaired.map((op) => `${op.action} ${identity(op.object)}`)).toEqual([`create ${route}`]);
    expect(h.kernel.observations).toBe(observed);
    removeBehindItsBack(route);
    await h.reconciler.repair("periodic check", "all");
    expect(h.kernel.has(route)).toBe(true);
  });

  it("in a container namespace, takes an endpoint's routing rules and its replies' table route", async () => {
    const { ns } = await container();
    const where = h.kernel.namespaceId(ns.path);
    const removals = [...h.kernel.objects.values()].flatMap((o): Removal[] => {
      if (o.kind === "routeRule" && o.netns === ns.path)
        return [
          { kind: "rule", where, family: o.family, priority: o.priority, from: o.from, table: o.table },
        ];
      if (o.kind === "route" && o.netns === ns.path && o.table !== undefined)
        return [{ kind: "route", where, family: o.family, dst: o.dst, via: o.via, table: o.table }];
      return [];
    });
    const ids = [...h.kernel.objects.values()]
      .filter(
        (o) =>
          (o.kind === "routeRule" || (o.kind === "route" && o.table !== undefined)) && o.netns === ns.path,
      )
      .map(identity);
    expect(ids).toHaveLength(3);
    for (const id of ids) removeBehindItsBack(id);
    const drift = await h.reconciler.drifted(removals, settled());
    expect([...drift.lost].sort()).toEqual([...ids].sort());
    await h.reconciler.repair("test", drift);
    for (const id of ids) expect(h.kernel.has(id)).toBe(true);
    expectConverged(h);
  });

  it("that may be hostnet's own late report is checked against the kernel: nft flush ruleset right after a repair is repaired", async () => {
    await container();
    const tables = ["nft:inet", "nft:bridge"];
    const flushed = (family: string): Removal[] =>
      ["rule", "chain", "set", "table"].map((object) => ({ kind: "nft", family, object }));
    // A repair of a flushed table rebuilds both tables; the kernel reports their old ones' removal.
    const rebuilt = await h.reconciler.repair(
      "test",
      await h.reconciler.drifted(flushed("inet").slice(0, 1)),
    );
    expect(rebuilt.repaired.filter((op) => tables.includes(identity(op.object)))).toHaveLength(2);
    const late = await h.reconciler.drifted([...flushed("inet"), ...flushed("bridge")]);
    expect(late.observe).toBe("nft");
    const observed = h.kernel.observations;
    expect((await h.reconciler.repair("test", late)).repaired).toEqual([]);
    // Only the nft tables are in doubt: only they are observed.
    expect([h.kernel.observations, h.kernel.nftObservations]).toEqual([observed, 1]);
    for (const table of tables) removeBehindItsBack(table);
    const drift = await h.reconciler.drifted([...flushed("inet"), ...flushed("bridge")]);
    await h.reconciler.repair("test", drift);
    for (const table of tables) expect(h.kernel.has(table)).toBe(true);
    expectConverged(h);
  });

  it("of a set element in a state the record no longer has is a replace's own delete: no drift, nothing observed", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    for (const name of ["b0", "b1", "b2"]) await h.service.createEndpoint(epSpec(name, "n1"));
    await h.service.loadBalancers.create(lbSpec("lb", ["192.0.2.1"], ["b0", "b1", "b2"]));
    const slot = (n: number): KernelObject | undefined =>
      [...h.kernel.objects.values()].find(
        (o) =>
          o.kind === "nftElement" &&
          o.set === "lbBackends4" &&
          o.key.some((p) => p.t === "slot" && p.v === n),
      );
    const before = slot(0);
    if (before?.kind !== "nftElement") throw new Error("no slot 0");
    // Removing the first backend rewrites slots 0 and 1: each a delete and an add in one transaction.
    await h.service.loadBalancers.removeBackend("lb", { field: "HostComputeEndpoints[0]", ref: "b0" });
    const gone = (element: KernelObject): Removal => ({
      kind: "nftElements",
      family: "inet",
      set: "lbBackends4",
      elements: [element],
    });
    const observations = [h.kernel.observations, h.kernel.nftObservations];
    const own = await h.reconciler.drifted([gone(before)]);
    expect([own.removals, own.observe]).toEqual([[], undefined]);
    const now = slot(0);
    if (now === undefined) throw new Error("no slot 0");
    removeBehindItsBack(identity(now));
    const drift = await h.reconciler.drifted([gone(now)], settled());
    expect(drift.lost).toEqual([identity(now)]);
    await h.reconciler.repair("test", drift);
    expect(h.kernel.has(identity(now))).toBe(true);
    expect([h.kernel.observations, h.kernel.nftObservations]).toEqual(observations);
  });

  it("reported after a periodic check already repaired it is repaired once: the repair observes the kernel", async () => {
    const { veth } = await container();
    const seenAt = performance.now();
    removeBehindItsBack(veth);
    const periodic = await h.reconciler.repair("periodic check", "all");
    expect(periodic.repaired.map((op) => identity(op.object))).toContain(veth);
    const late = await h.reconciler.drifted([linkGone(veth.slice("link:".length))], seenAt);
    expect(late).toMatchObject({
      removals: [linkGone(veth.slice("link:".length))],
      lost: [],
      observe: "all",
    });
    expect((await h.reconciler.repair("test", late)).repaired).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  it("nft flush ruleset no monitor reported is repaired by the periodic check", async () => {
    await container();
    for (const table of ["nft:inet", "nft:bridge"]) removeBehindItsBack(table);
    await h.reconciler.repair("periodic check", "all");
    expectConverged(h);
  });

  it("repaired too often is held back, shown by the plan, and made again by a write to its owner", async () => {
    const { ep, veth } = await container();
    const deleted = async (): Promise<Drift> => {
      removeBehindItsBack(veth);
      return h.reconciler.drifted([linkGone(veth.slice("link:".length))]);
    };
    for (let i = 0; i < 5; i++)
      expect((await h.reconciler.repair("test", await deleted())).repaired).not.toEqual([]);
    expect((await h.reconciler.repair("test", await deleted())).repaired).toEqual([]);
    expect(h.kernel.has(veth)).toBe(false);
    // The veth's container end, addresses and routes went with it as often: each is held back too.
    const plan = await h.service.plan();
    expect(plan.find((op) => op.kind === "veth")?.heldBack).toMatch(/^repaired 5 times within 60 s/);
    expect(plan.every((op) => op.heldBack !== undefined)).toBe(true);
    await h.service.setPortMappings(ep.id, []);
    expect(h.kernel.has(veth)).toBe(true);
    expect(await h.service.plan()).toEqual([]);
  });

  it("a repair that fails partway counts for what it made: the fight is still held back", async () => {
    const { veth } = await container();
    const deleted = async (): Promise<Drift> => {
      removeBehindItsBack(veth);
      return h.reconciler.drifted([linkGone(veth.slice("link:".length))]);
    };
    for (let i = 0; i < 5; i++) {
      // The veth is made again, then the batch fails; the owner-by-owner retry makes the rest.
      h.kernel.failPartway(1);
      const { failures } = await h.reconciler.repair("test", await deleted());
      expect(failures).toEqual([]);
      expect(h.kernel.refused.at(-1)?.ops[0]?.object).toMatchObject({ kind: "veth" });
      expect(h.kernel.has(veth)).toBe(true);
    }
    expect((await h.reconciler.repair("test", await deleted())).repaired).toEqual([]);
    expect(h.kernel.has(veth)).toBe(false);
  });
});

describe("a namespace deleted under hostnet", () => {
  it("hostnet made is forgotten, and its endpoints are detached saying why", async () => {
    const { ep, ns } = await container();
    h.kernel.namespaceDeleted(ns.path);
    expect((await h.service.namespaceVanished(ns.id)).map((e) => e.id)).toEqual([ep.id]);
    // What went with the namespace is not deleted again: no batch fails on it.
    expect(h.kernel.refused).toEqual([]);
    expect(h.service.findNamespace(ns.id)).toBeUndefined();
    expect(h.service.endpoint(ep.id)).toMatchObject({
      attachment: null,
      detachedReason: "namespace vanished",
    });
    expectConverged(h);
  });

  it("adopted stays known, its endpoints detached, until its runtime forgets it; attaching clears the reason", async () => {
    const { ep, ns } = await container(true);
    rmSync(ns.path);
    h.kernel.namespaceDeleted(ns.path);
    const vanished = await h.service.vanishedNamespaces();
    expect(vanished.map((v) => [v.namespace.id, v.detached.map((e) => e.id)])).toEqual([[ns.id, [ep.id]]]);
    expect(h.service.namespace(ns.id)).toEqual(ns);
    expect(h.service.endpoint(ep.id).detachedReason).toBe("namespace vanished");
    expect(await h.service.vanishedNamespaces()).toEqual([]);
    expectConverged(h);
    writeFileSync(ns.path, "");
    await h.service.attachEndpoint(ep.id, { namespace: ns.id });
    expect(h.service.endpoint(ep.id).detachedReason).toBeUndefined();
  });
});

describe("a periodic check observes the kernel outside the queue", () => {
  /** Holds the next observation's answer until `release`: writes converge meanwhile. */
  function holdObservations(): { release: () => void } {
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    const observe = h.kernel.observe.bind(h.kernel);
    h.kernel.observe = async (namespaces) => {
      h.kernel.observe = observe;
      const seen = await observe(namespaces);
      await held;
      return seen;
    };
    return { release };
  }

  it("writes converge while it reads, and it neither undoes nor redoes them", async () => {
    await container();
    const gate = holdObservations();
    const check = h.reconciler.repair("periodic check", "all");
    // Neither waits for the check: it holds no queue while it reads.
    await h.service.createEndpoint(epSpec("e2", "n1", { portMappings: [mapping(0, 8081)] }));
    await h.service.deleteEndpoint("e1");
    gate.release();
    const { repaired, failures } = await check;
    expect({ repaired, failures }).toEqual({ repaired: [], failures: [] });
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  it("still repairs what was lost behind hostnet's back, beside a write", async () => {
    const { veth } = await container();
    removeBehindItsBack(veth);
    const gate = holdObservations();
    const check = h.reconciler.repair("periodic check", "all");
    await h.service.createEndpoint(epSpec("e2", "n1"));
    gate.release();
    expect((await check).repaired.map((op) => identity(op.object))).toContain(veth);
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  it("leaves alone what a write waiting behind it is about to converge: that is no drift", async () => {
    await container();
    let releaseApply = (): void => undefined;
    const applyHeld = new Promise<void>((r) => (releaseApply = r));
    const apply = h.kernel.apply.bind(h.kernel);
    h.kernel.apply = async (ops) => {
      h.kernel.apply = apply;
      await applyHeld;
      return apply(ops);
    };
    // A write holds the queue; the check joins it, then a second write's converge waits behind the check.
    const first = h.service.loadBalancers.create(lbSpec("lb1", ["10.96.0.1"], ["e1"]));
    const check = h.reconciler.repair("periodic check", "all");
    await new Promise((r) => setTimeout(r, 20));
    const second = h.service.loadBalancers.create(lbSpec("lb2", ["10.96.0.2"], ["e1"]));
    releaseApply();
    await first;
    expect((await check).repaired).toEqual([]);
    await second;
    expect(h.kernel.refused).toEqual([]);
    expect(await h.service.plan()).toEqual([]);
  });
});
