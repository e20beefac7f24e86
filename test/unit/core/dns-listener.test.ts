/**
 * A resolver listener that cannot bind (another program holds address:53) fails no request: the network is
 * made without it, the plan shows it with the error, and the next converge of the network or a periodic
 * check makes it once the address is free.
 */
import { describe, expect, it } from "vitest";
import { expectConverged } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, netSpec, subnet } from "./requests.js";

const h = freshHarnessPerTest();
const LISTENER = "dns:10.10.0.1";
const IN_USE = "bind EADDRINUSE 10.10.0.1:53";

describe("a resolver listener that cannot bind", () => {
  it("does not fail the network; the plan shows it with the error", async () => {
    h.kernel.unmakeable(LISTENER, IN_USE);
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    await h.service.createEndpoint(epSpec("e1", "n1"));
    expect(h.kernel.has(`link:hnb-${net.shortId}`)).toBe(true);
    expect(h.kernel.has(LISTENER)).toBe(false);
    expect(await h.service.plan()).toEqual([
      {
        action: "create",
        kind: "dnsListener",
        description: `resolver on 10.10.0.1:53 (net:${net.id})`,
        lastError: IN_USE,
      },
    ]);
  });

  it("is tried again by the next converge of its network, which makes it once the address is free", async () => {
    h.kernel.unmakeable(LISTENER, IN_USE);
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    await h.reconciler.converge([`net:${net.id}`]);
    const tries = h.kernel
      .allOps()
      .filter((op) => op.action === "create" && op.object.kind === "dnsListener");
    expect(tries).toHaveLength(2);
    h.kernel.makeable(LISTENER);
    await h.reconciler.converge([`net:${net.id}`]);
    expect(h.kernel.has(LISTENER)).toBe(true);
    expectConverged(h);
    expect(await h.service.plan()).toEqual([]);
  });

  it("is made by the periodic check once the address is free", async () => {
    h.kernel.unmakeable(LISTENER, IN_USE);
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    // Not made, it counts as no repair: no number of tries holds it back.
    expect((await h.reconciler.repair("periodic check", "all")).repaired).toEqual([]);
    h.kernel.makeable(LISTENER);
    const { repaired, failures } = await h.reconciler.repair("periodic check", "all");
    expect(failures).toEqual([]);
    expect(repaired.map((op) => op.object.kind)).toEqual(["dnsListener"]);
    expect(h.kernel.has(LISTENER)).toBe(true);
  });
});
