/**
 * The flows traces follow are kernel objects of the owner `trace`, wanted only while their trace runs: a
 * converge keeps them while it does, and a restarted hostnetd (a new reconciler, nothing in its memory)
 * removes what a killed one left.
 */
import { afterEach, describe, expect, it } from "vitest";
import { identity } from "../../../src/dataplane/objects.js";
import { TraceFlows, traceElement, type TraceFlow } from "../../../src/dataplane/trace-flows.js";
import { harness, rejection, type Harness } from "../harness.js";

const flow: TraceFlow = {
  id: "t1",
  veth: "hnv-0a0b0c0d",
  family: 4,
  protocol: "tcp",
  destination: "192.0.2.9",
  port: 443,
};

describe("trace flows", () => {
  let h: Harness | undefined;
  afterEach(() => h?.close());

  it("marks a flow by host veth, protocol, destination and port; ICMP by any port", () => {
    expect(traceElement(flow)).toEqual({
      kind: "nftElement",
      owner: "trace",
      set: "trace4",
      key: [
        { t: "ifname", v: "hnv-0a0b0c0d" },
        { t: "proto", v: "tcp" },
        { t: "addr", v: "192.0.2.9" },
        { t: "portRange", v: "443" },
      ],
      value: null,
      label: "t1",
    });
    const icmp: TraceFlow = {
      id: "t2",
      veth: "hnv-0a0b0c0d",
      family: 6,
      protocol: "icmp",
      destination: "fd00::9",
    };
    expect(traceElement(icmp)).toMatchObject({
      set: "trace6",
      key: [
        { t: "ifname", v: "hnv-0a0b0c0d" },
        { t: "proto", v: "58" },
        { t: "addr", v: "fd00::9" },
        { t: "portRange", v: "0-65535" },
      ],
    });
  });

  it("refuses a second trace of a flow another trace follows", async () => {
    const flows = new TraceFlows();
    flows.add(flow);
    const err = await rejection(Promise.resolve().then(() => flows.add({ ...flow, id: "t2" })));
    expect(err.code).toBe("Conflict");
    flows.add({ ...flow, id: "t3", port: 444 });
    flows.remove("t1");
    expect(flows.objects().map((o) => identity(o))).toEqual([identity(traceElement({ ...flow, port: 444 }))]);
  });

  it("keeps a running trace's mark through a full converge, and removes it once the trace ends", async () => {
    h = harness();
    const id = identity(traceElement(flow));
    h.reconciler.traces.add(flow);
    await h.reconciler.converge(["trace"]);
    expect(h.kernel.objects.get(id)).toMatchObject({ owner: "trace", label: "t1" });
    await h.reconciler.converge("all");
    expect(h.kernel.objects.has(id)).toBe(true);
    h.reconciler.traces.remove("t1");
    await h.reconciler.converge(["trace"]);
    expect(h.kernel.objects.has(id)).toBe(false);
  });

  it("removes the mark a killed hostnetd left, at the startup converge of the next", async () => {
    h = harness();
    const id = identity(traceElement(flow));
    h.reconciler.traces.add(flow);
    await h.reconciler.converge(["trace"]);
    const next = harness({ store: h.store, kernel: h.kernel });
    await next.reconciler.converge("all");
    expect(h.kernel.objects.has(id)).toBe(false);
  });
});
