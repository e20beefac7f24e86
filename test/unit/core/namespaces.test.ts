import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { expectConverged, harness, rejection, uniqueName } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, networkAndNamespace } from "./requests.js";

const h = freshHarnessPerTest();

describe("namespaces", () => {
  it("creates an owned namespace under /run/netns and refuses a duplicate name", async () => {
    const name = uniqueName("c");
    const ns = await h.service.createNamespace({ name });
    expect(ns).toMatchObject({ name, path: `/run/netns/${name}`, owned: true });
    expect(h.kernel.has(`netns:${name}`)).toBe(true);
    const err = await rejection(h.service.createNamespace({ name }));
    expect([err.code, err.detail.field]).toEqual(["Conflict", "name"]);
  });

  it("does not take a namespace it is still making for one that vanished", async () => {
    const name = uniqueName("c");
    const making = h.service.createNamespace({ name });
    // The store has it and its converge is queued: no file yet (nor ever, in the memory kernel).
    expect(await h.service.vanishedNamespaces()).toEqual([]);
    expect(await making).toMatchObject({ name, owned: true });
  });

  it("adopts an existing netns path without creating anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hostnet-unit-"));
    try {
      const path = join(dir, "net");
      writeFileSync(path, "");
      const applied = h.kernel.applied.length;
      const ns = await h.service.createNamespace({ name: "adopted", path });
      expect(ns).toMatchObject({ name: "adopted", path, owned: false });
      expect(h.kernel.applied).toHaveLength(applied);
      const err = await rejection(h.service.createNamespace({ name: "again", path }));
      expect([err.code, err.detail.field]).toEqual(["Conflict", "path"]);
      await h.service.deleteNamespace("adopted");
      expect(h.service.namespaces()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to adopt a path that does not exist", async () => {
    const err = await rejection(h.service.createNamespace({ name: "x", path: "/nonexistent/hostnet/ns" }));
    expect([err.code, err.detail.field]).toEqual(["InvalidArgument", "path"]);
  });

  it("refuses an invalid name", async () => {
    const err = await rejection(h.service.createNamespace({ name: "../etc" }));
    expect([err.code, err.detail.field]).toEqual(["InvalidArgument", "name"]);
  });

  it("rolls an owned namespace back when the kernel refuses", async () => {
    h.kernel.failNext(2);
    const err = await rejection(h.service.createNamespace({ name: uniqueName("c") }));
    expect(err.code).toBe("Internal");
    expect(h.service.namespaces()).toEqual([]);
  });

  it("deleting a namespace detaches its endpoints and deletes the netns", async () => {
    const { nsName } = await networkAndNamespace(h);
    const ns = h.service.namespace(nsName);
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    expect(h.kernel.has(`netns:${nsName}`)).toBe(true);
    await h.service.deleteNamespace(ns.id);
    expect(h.service.namespaces()).toEqual([]);
    expect(h.service.endpoint("e1").attachment).toBeNull();
    expect(h.kernel.has(`netns:${nsName}`)).toBe(false);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });
});

describe("adopting a namespace", () => {
  it("refuses a file that is no network namespace, and hostnetd's own, naming the path", async () => {
    const h = harness({
      namespaces: { "/etc/passwd": "not-a-network-namespace", "/proc/self/ns/net": "hostnetd's own" },
    });
    onTestFinished(() => h.close());
    for (const [path, why] of [
      ["/etc/passwd", "is not a network namespace"],
      ["/proc/self/ns/net", "is hostnetd's own network namespace"],
    ] as const) {
      const err = await rejection(h.service.createNamespace({ name: "x", path }));
      expect([err.code, err.detail.field, err.message]).toEqual([
        "InvalidArgument",
        "path",
        expect.stringContaining(`${path} ${why}`),
      ]);
    }
    expect(h.service.namespaces()).toEqual([]);
  });
});
