import { describe, expect, it } from "vitest";
import type { EndpointSpec, PolicySpec } from "../../../src/core/specs.js";
import { parsePolicy } from "../../../src/policies/parse.js";
import { expectConverged, rejection, storeSnapshot, uniqueName } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, netSpec, subnet } from "./requests.js";

const h = freshHarnessPerTest();

describe("network policies", () => {
  const policy = (i: number, type: string, settings: unknown): PolicySpec => ({
    field: `Policies[${i}].Settings`,
    policy: parsePolicy(`Policies[${i}]`, type, settings, "endpoint"),
  });
  const blockSsh = (i = 0): PolicySpec =>
    policy(i, "ACL", { Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 200 });
  const qos = (i: number, bytes: number): PolicySpec =>
    policy(i, "QOS", { MaximumOutgoingBandwidthInBytes: bytes });
  /** The endpoint's ACL elements as "tier map: label → verdict". */
  const aclOf = (epId: string): string[] =>
    [...h.kernel.objects.values()].flatMap((o) =>
      o.kind === "nftElement" && o.owner === `ep:${epId}` && o.label !== undefined
        ? [`${o.set}: ${o.label} → ${o.value?.[0]?.v ?? ""}`]
        : [],
    );

  async function attachedEndpoint(name: string, extra: Partial<EndpointSpec> = {}): Promise<string> {
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    return (await h.service.createEndpoint(epSpec(name, "n1", { attach: { namespace: ns.name }, ...extra })))
      .id;
  }

  it("apply to every endpoint of the network, set at creation and changed live", async () => {
    await h.service.createNetwork({ ...netSpec("n1", subnet("10.10.0.0/24")), policies: [blockSsh()] });
    const a = await attachedEndpoint("a");
    const b = await attachedEndpoint("b", { policies: [qos(0, 2000)] });
    for (const id of [a, b]) expect(aclOf(id)).toEqual(["aclIn4_0: network acl 0 → drop"]);
    await h.service.modifyNetworkPolicies("n1", { requestType: "Add", policies: [qos(0, 1000)] });
    const rates = [...h.kernel.objects.values()].flatMap((o) =>
      o.kind === "shaper" ? [o.bytesPerSecond] : [],
    );
    // b's own QOS wins over the network's.
    expect(rates.sort()).toEqual([1000, 2000]);
    await h.service.modifyNetworkPolicies("n1", { requestType: "Update", policies: [] });
    expect(aclOf(a)).toEqual([]);
    expect(h.service.network("n1").policies).toEqual([]);
    expectConverged(h);
  });

  it("orders the network's ACLs with the endpoint's by priority, the endpoint's first at a tie", async () => {
    await h.service.createNetwork({ ...netSpec("n1", subnet("10.10.0.0/24")), policies: [blockSsh()] });
    const allowSsh = policy(0, "ACL", {
      Action: "Allow",
      Direction: "In",
      Protocols: "6",
      LocalPorts: "22",
      Priority: 200,
    });
    const id = await attachedEndpoint("a", { policies: [allowSsh] });
    expect(aclOf(id).sort()).toEqual(["aclIn4_0: acl 0 → return", "aclIn4_1: network acl 0 → drop"]);
  });

  it("refuses invalid changes and keeps the previous policies when the kernel refuses", async () => {
    await h.service.createNetwork({ ...netSpec("n1", subnet("10.10.0.0/24")), policies: [blockSsh()] });
    await attachedEndpoint("a");
    const before = storeSnapshot(h);
    const twoQos = h.service.modifyNetworkPolicies("n1", {
      requestType: "Add",
      policies: [qos(0, 1000), qos(1, 2000)],
    });
    expect(await rejection(twoQos)).toMatchObject({
      code: "InvalidArgument",
      detail: { field: "Policies[1].Settings" },
    });
    const badHop = policy(0, "SDNRoute", { DestinationPrefix: "10.99.0.0/16", NextHop: "192.0.2.1" });
    expect(
      await rejection(h.service.modifyNetworkPolicies("n1", { requestType: "Add", policies: [badHop] })),
    ).toMatchObject({ code: "InvalidArgument", detail: { field: "Policies[0].Settings.NextHop" } });
    h.kernel.failNext(2);
    expect(
      await rejection(h.service.modifyNetworkPolicies("n1", { requestType: "Update", policies: [] })),
    ).toMatchObject({ code: "Internal" });
    expect(storeSnapshot(h)).toEqual(before);
    expectConverged(h);
    const create = h.service.createNetwork({ ...netSpec("n2", subnet("10.20.0.0/24")), policies: [badHop] });
    expect(await rejection(create)).toMatchObject({ detail: { field: "Policies[0].Settings.NextHop" } });
    expect(storeSnapshot(h)).toEqual(before);
  });
});
