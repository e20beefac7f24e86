import { describe, expect, it, onTestFinished } from "vitest";
import { identity } from "../../../src/dataplane/objects.js";
import { skeletonVersion } from "../../../src/dataplane/render/nft.js";
import { parsePolicy } from "../../../src/policies/parse.js";
import { applyOps, MemoryKernel } from "../../helpers/memory-kernel.js";
import { bridgeLink, del, nftTable, orphanBridge } from "../../helpers/plan-ops.js";
import { expectConverged, harness, uniqueName } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, mapping, netSpec, subnet } from "./requests.js";

const h = freshHarnessPerTest();

describe("plan and restart", () => {
  it("plans nothing when the kernel matches, and shows drift", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    expect((await h.reconciler.preview()).ops).toEqual([]);
    const addr = `addr::hnb-${net.shortId}:10.10.0.1/24`;
    h.kernel.objects.delete(addr);
    const { ops } = await h.reconciler.preview();
    expect(ops.map((op) => `${op.action} ${identity(op.object)}`)).toEqual([`create ${addr}`]);
    expect(h.kernel.objects.has(addr)).toBe(false);
  });

  it("a restarted hostnetd converges a matching kernel with no ops", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: ns.name }, portMappings: [mapping(0, 8080)] }),
    );
    const { report, failures } = await h.restart().reconciler.convergeAll();
    expect(report.ops).toBe(0);
    expect(failures).toEqual([]);
  });

  it("a restarted hostnetd repairs drift and removes orphans", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    h.kernel.objects.set(identity(orphanBridge), orphanBridge);
    h.kernel.objects.set(`link:hnb-${net.shortId}`, bridgeLink(`net:${net.id}`, `hnb-${net.shortId}`, 1400));
    const { report, failures } = await h.restart().reconciler.convergeAll();
    expect(failures).toEqual([]);
    expect(report.ops).toBe(2);
    expectConverged(h);
  });

  it("a restarted hostnetd replaces an old nft table and restores every element", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: ns.name }, portMappings: [mapping(0, 8080)] }),
    );
    h.kernel.objects.set("nft:inet", nftTable("000000000000"));
    await h.restart().reconciler.convergeAll();
    expect(h.kernel.objects.get("nft:inet")).toMatchObject({ version: skeletonVersion() });
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  // Replacing the nft table drops every owner's elements with it, also when the start-up converge falls
  // back to converging owner by owner with "global" first.
  it("converging owner by owner (after a failed full converge) restores elements of a replaced table", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: ns.name }, portMappings: [mapping(0, 8080)] }),
    );
    h.kernel.objects.set("nft:inet", nftTable("000000000000"));
    h.kernel.failNext(2);
    const { failures } = await h.restart().reconciler.convergeAll();
    expect(failures).toEqual([]);
    expectConverged(h);
  });

  // A scoped converge that must re-create the nft table also restores the elements of other owners.
  it("a converge that re-creates the nft table restores the elements of other owners", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    for (const id of [...h.kernel.objects.keys()]) if (id.startsWith("nft:")) h.kernel.objects.delete(id);
    await h.service.createNetwork(netSpec("n2", subnet("10.11.0.0/24")));
    expectConverged(h);
  });

  it("a long mixed session never makes the kernel refuse an op, and ends converged", async () => {
    const kernel = new MemoryKernel();
    const h = harness({ kernel });
    onTestFinished(() => h.close());
    await h.service.createNetwork(netSpec("a", subnet("10.1.0.0/24"), subnet("fd01::/64", 1)));
    await h.service.createNetwork(netSpec("b", subnet("10.2.0.0/24")));
    const c1 = await h.service.createNamespace({ name: uniqueName("c") });
    const c2 = await h.service.createNamespace({ name: uniqueName("c") });
    await h.service.createEndpoint(
      epSpec("a1", "a", { attach: { namespace: c1.name }, portMappings: [mapping(0, 8080)] }),
    );
    await h.service.createEndpoint(epSpec("b1", "b", { attach: { namespace: c1.name, ifname: "eth1" } }));
    await h.service.createEndpoint(epSpec("a2", "a", { attach: { namespace: c2.name } }));
    await h.service.detachEndpoint("a2");
    await h.service.attachEndpoint("a2", { namespace: c2.name });
    await h.service.deleteNamespace(c1.id);
    await h.service.attachEndpoint("a1", { namespace: c2.name, ifname: "eth1" });
    await h.service.deleteEndpoint("b1");
    await h.service.deleteNetwork("b");
    await h.service.deleteEndpoint("a2");
    expect(kernel.refused).toEqual([]);
    expectConverged(h);
    expect((await h.reconciler.preview()).ops).toEqual([]);
    await h.service.deleteNetwork("a", { force: true });
    await h.service.deleteNamespace(c2.id);
    expect(kernel.refused).toEqual([]);
    expect(kernel.list().every((o) => o.owner === "global")).toBe(true);
  });
});

// The reconciler's record still has what an admin removed behind its back: the first apply fails, and the
// retry against a fresh observation makes what the request stands on again.
describe("writes heal what they stand on", () => {
  /** Removes objects from the kernel as Linux would, taking their children along; the record keeps them. */
  const removeBehindItsBack = (ids: readonly string[]): void => {
    const objects = ids.flatMap((id) => h.kernel.objects.get(id) ?? []);
    applyOps(h.kernel.objects, objects.map(del));
  };

  async function twoEndpoints(): Promise<{ ns: string; bridge: string }> {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: ns.name }, portMappings: [mapping(0, 8080)] }),
    );
    return { ns: ns.name, bridge: `link:hnb-${net.shortId}` };
  }

  it("an endpoint with a port mapping after the nft tables were flushed", async () => {
    const { ns } = await twoEndpoints();
    removeBehindItsBack(["nft:inet", "nft:bridge"]);
    await h.service.createEndpoint(
      epSpec("e2", "n1", { attach: { namespace: ns, ifname: "eth1" }, portMappings: [mapping(0, 8081)] }),
    );
    expectConverged(h);
    expect((await h.reconciler.preview()).ops).toEqual([]);
  });

  it("an endpoint after its network's bridge was deleted", async () => {
    const { ns, bridge } = await twoEndpoints();
    removeBehindItsBack([bridge]);
    await h.service.createEndpoint(epSpec("e2", "n1", { attach: { namespace: ns, ifname: "eth1" } }));
    expectConverged(h);
  });

  it("a network policy after the nft tables were flushed", async () => {
    await twoEndpoints();
    removeBehindItsBack(["nft:inet", "nft:bridge"]);
    await h.service.modifyNetworkPolicies("n1", {
      requestType: "Add",
      policies: [
        {
          field: "Policies[0].Settings",
          policy: parsePolicy(
            "Policies[0]",
            "ACL",
            {
              Action: "Block",
              Direction: "In",
              Protocols: "6",
              LocalPorts: "22",
              Priority: 200,
            },
            "network",
          ),
        },
      ],
    });
    expectConverged(h);
  });
});
