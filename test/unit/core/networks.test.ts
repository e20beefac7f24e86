import { describe, expect, it, onTestFinished } from "vitest";
import type { NetworkSpec } from "../../../src/core/specs.js";
import type { ErrorCode } from "../../../src/errors.js";
import { kernelError } from "../../helpers/memory-kernel.js";
import { expectConverged, harness, rejection, storeSnapshot, uniqueName } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import { epSpec, netSpec, subnet } from "./requests.js";

const h = freshHarnessPerTest();

describe("createNetwork", () => {
  it("creates a network with an explicit subnet, its gateway the first host address", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    expect(net).toMatchObject({ name: "n1", type: "NAT", mtu: 1500, shortId: net.id.slice(0, 8) });
    expect(net.subnets).toEqual([
      { id: expect.any(Number) as number, family: 4, prefix: "10.10.0.0/24", gateway: "10.10.0.1" },
    ]);
    expect(h.service.network("n1")).toEqual(net);
    expect(h.service.network(net.id)).toEqual(net);
    const bridge = `hnb-${net.shortId}`;
    expect(h.kernel.has(`link:${bridge}`)).toBe(true);
    expect(h.kernel.has(`addr::${bridge}:10.10.0.1/24`)).toBe(true);
    expect(h.kernel.has("nft:inet")).toBe(true);
    expect(h.kernel.has(`nft:natBridges:"${bridge}"`)).toBe(true);
    expect(h.kernel.has("nft:masq4:10.10.0.0/24")).toBe(true);
    expect(h.kernel.applied).toHaveLength(1);
    expectConverged(h);
  });

  it("canonicalises the subnet and honours an explicit gateway and MTU", async () => {
    const net = await h.service.createNetwork({
      ...netSpec("n1", subnet("10.10.0.77/24", 0, "10.10.0.254")),
      mtu: 9000,
    });
    expect(net.subnets[0]).toMatchObject({ prefix: "10.10.0.0/24", gateway: "10.10.0.254" });
    expect(net.mtu).toBe(9000);
    expect(h.kernel.ofKind("bridge")[0]?.mtu).toBe(9000);
  });

  it("accepts the type in any case", async () => {
    const net = await h.service.createNetwork({ name: "n1", type: "nat", subnets: [subnet("10.10.0.0/24")] });
    expect(net.type).toBe("NAT");
  });

  it("creates a dual-stack network with one gateway per family", async () => {
    const net = await h.service.createNetwork(
      netSpec("dual", subnet("10.20.0.0/24"), subnet("FD20::/64", 1)),
    );
    expect(net.subnets.map((s) => [s.family, s.prefix, s.gateway])).toEqual([
      [4, "10.20.0.0/24", "10.20.0.1"],
      [6, "fd20::/64", "fd20::1"],
    ]);
    const bridge = `hnb-${net.shortId}`;
    expect(h.kernel.has(`addr::${bridge}:fd20::1/64`)).toBe(true);
    expect(h.kernel.has("nft:masq6:fd20::/64")).toBe(true);
    expect(h.kernel.has(`nft:hairpin6:"${bridge}" . fd20::/64`)).toBe(true);
    expectConverged(h);
  });

  it("picks 172.16.0.0/16 when no subnet is given and nothing is in the way", async () => {
    const net = await h.service.createNetwork(netSpec("n1"));
    expect(net.subnets.map((s) => [s.prefix, s.gateway])).toEqual([["172.16.0.0/16", "172.16.0.1"]]);
  });

  it("picks a default subnet that avoids the host's prefixes and existing networks", async () => {
    const h = harness({ hostPrefixes: ["172.16.0.0/16", "172.17.3.0/24", "10.0.0.0/8"] });
    onTestFinished(() => h.close());
    await h.service.createNetwork(netSpec("explicit", subnet("172.18.128.0/20")));
    const net = await h.service.createNetwork(netSpec("auto"));
    expect(net.subnets.map((s) => s.prefix)).toEqual(["172.19.0.0/16"]);
    const next = await h.service.createNetwork(netSpec("auto2"));
    expect(next.subnets.map((s) => s.prefix)).toEqual(["172.20.0.0/16"]);
  });

  it("gives Conflict on subnets when the whole default pool is taken", async () => {
    const h = harness({ hostPrefixes: ["172.16.0.0/12"] });
    onTestFinished(() => h.close());
    const err = await rejection(h.service.createNetwork(netSpec("n1")));
    expect([err.code, err.detail.field]).toEqual(["Conflict", "subnets"]);
    expect(h.service.networks()).toEqual([]);
  });

  it("creates the global objects once: a second network applies only its own objects", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const second = await h.service.createNetwork(netSpec("n2", subnet("10.11.0.0/24")));
    const ops = h.kernel.applied[1] ?? [];
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) {
      expect(op.action).toBe("create");
      expect(op.object.owner).toBe(`net:${second.id}`);
    }
  });

  describe("refuses invalid input, recording and applying nothing", () => {
    const cases: [string, NetworkSpec, ErrorCode, string][] = [
      ["an empty name", netSpec("", subnet("10.0.0.0/24")), "InvalidArgument", "name"],
      ["a name with a space", netSpec("my net", subnet("10.0.0.0/24")), "InvalidArgument", "name"],
      [
        "a name of 129 characters",
        netSpec("n".repeat(129), subnet("10.0.0.0/24")),
        "InvalidArgument",
        "name",
      ],
      ["an unknown type", { name: "n1", type: "Overlay", subnets: [] }, "InvalidArgument", "type"],
      ["an MTU below 1280", { ...netSpec("n1"), mtu: 1000 }, "InvalidArgument", "mtu"],
      ["an MTU above 65535", { ...netSpec("n1"), mtu: 70000 }, "InvalidArgument", "mtu"],
      ["a fractional MTU", { ...netSpec("n1"), mtu: 1500.5 }, "InvalidArgument", "mtu"],
      [
        "a /33",
        netSpec("n1", subnet("10.0.0.0/33")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "a prefix without length",
        netSpec("n1", subnet("10.0.0.0")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "a garbage prefix",
        netSpec("n1", subnet("ten/8")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "a /32 (no room for an endpoint)",
        netSpec("n1", subnet("10.0.0.0/32")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "an IPv6 /128",
        netSpec("n1", subnet("fd00::/128")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "a gateway outside the subnet",
        netSpec("n1", subnet("10.0.0.0/24", 0, "10.0.1.1")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "the network address as gateway",
        netSpec("n1", subnet("10.0.0.0/24", 0, "10.0.0.0")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "the broadcast address as gateway",
        netSpec("n1", subnet("10.0.0.0/24", 0, "10.0.0.255")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "an IPv6 gateway for IPv4",
        netSpec("n1", subnet("10.0.0.0/24", 0, "fd00::1")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "a malformed gateway",
        netSpec("n1", subnet("10.0.0.0/24", 0, "10.0.0")),
        "InvalidArgument",
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "two IPv4 subnets",
        netSpec("n1", subnet("10.0.0.0/24"), subnet("10.1.0.0/24", 1)),
        "InvalidArgument",
        "Ipams[0].Subnets[1].IpAddressPrefix",
      ],
      [
        "a subnet overlapping another network's",
        netSpec("n2", subnet("10.99.0.128/25")),
        "Conflict",
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "an IPv6 subnet overlapping another network's",
        netSpec("n2", subnet("10.50.0.0/24"), subnet("fd99::/48", 1)),
        "Conflict",
        "Ipams[0].Subnets[1].IpAddressPrefix",
      ],
      ["a name already taken", netSpec("existing", subnet("10.50.0.0/24")), "Conflict", "name"],
    ];

    it.each(cases)("%s", async (_what, spec, code, field) => {
      await h.service.createNetwork(netSpec("existing", subnet("10.99.0.0/24"), subnet("fd99::/64", 1)));
      const before = storeSnapshot(h);
      const applied = h.kernel.applied.length;
      const err = await rejection(h.service.createNetwork(spec));
      expect({ code: err.code, field: err.detail.field }).toEqual({ code, field });
      if (code === "InvalidArgument") expect(err.message.startsWith(`${field}: `)).toBe(true);
      expect(storeSnapshot(h)).toEqual(before);
      expect(h.kernel.applied).toHaveLength(applied);
      expect(h.kernel.refused).toEqual([]);
    });
  });

  it("rolls the record back when the kernel refuses (twice: the first try and its retry)", async () => {
    h.kernel.failNext(2);
    const err = await rejection(h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24"))));
    expect(err.code).toBe("Internal");
    expect(err.message).toContain("rolled back");
    expect(h.service.networks()).toEqual([]);
    // The undo converges the same scope again, which includes the always-desired globals.
    expect(h.kernel.list().filter((o) => o.owner !== "global")).toEqual([]);
    expect(h.kernel.refused).toHaveLength(2);
    // The name and the subnet are free again.
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    expect(net.name).toBe("n1");
    expectConverged(h);
  });

  it("reports a kernel name clash (File exists) as Conflict", async () => {
    h.kernel.failNext(2, kernelError("RTNETLINK answers: File exists"));
    const err = await rejection(h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24"))));
    expect(err.code).toBe("Conflict");
    expect(h.service.networks()).toEqual([]);
  });

  it("survives one failed apply by retrying against a fresh observation", async () => {
    const observations = h.kernel.observations;
    h.kernel.failNext(1);
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    expect(h.service.network(net.id)).toEqual(net);
    expect(h.kernel.observations).toBeGreaterThan(observations);
    expectConverged(h);
  });
});

describe("deleteNetwork", () => {
  it("deletes an empty network and its kernel objects, keeping the globals", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24"), subnet("fd10::/64", 1)));
    await h.service.deleteNetwork("n1");
    expect(h.service.networks()).toEqual([]);
    expect(h.kernel.ownedBy(`net:${net.id}`)).toEqual([]);
    expect(h.kernel.list().every((o) => o.owner === "global")).toBe(true);
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  it("refuses a network with endpoints with Conflict, unless forced", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: ns.name } }));
    const before = storeSnapshot(h);
    const applied = h.kernel.applied.length;
    const err = await rejection(h.service.deleteNetwork("n1"));
    expect(err.code).toBe("Conflict");
    expect(err.message).toContain("1 endpoint");
    expect(storeSnapshot(h)).toEqual(before);
    expect(h.kernel.applied).toHaveLength(applied);

    await h.service.deleteNetwork(net.id, { force: true });
    expect(h.service.networks()).toEqual([]);
    expect(h.service.endpoints()).toEqual([]);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    expect(h.kernel.ownedBy(`net:${net.id}`)).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    expectConverged(h);
  });

  it("gives NotFound for an unknown network", async () => {
    const err = await rejection(h.service.deleteNetwork("nope"));
    expect(err.code).toBe("NotFound");
  });
});

describe("the default network", () => {
  it("creates the default network once, and not again after the user deleted it", async () => {
    await h.service.ensureDefaultNetwork("nat");
    expect(h.service.networks().map((n) => [n.name, n.subnets[0]?.prefix])).toEqual([
      ["nat", "172.16.0.0/16"],
    ]);
    await h.service.ensureDefaultNetwork("nat");
    expect(h.service.networks()).toHaveLength(1);
    await h.service.deleteNetwork("nat");
    await h.restart().service.ensureDefaultNetwork("nat");
    expect(h.service.networks()).toEqual([]);
  });
});
