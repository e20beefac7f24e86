import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  EndpointSpec,
  NetworkSpec,
  PolicySpec,
  PortMappingSpec,
  SubnetSpec,
} from "../../../src/core/service.js";
import { desiredState } from "../../../src/dataplane/desired.js";
import { defaultSkeleton, identity } from "../../../src/dataplane/objects.js";
import { skeletonVersion } from "../../../src/dataplane/render/nft.js";
import type { ErrorCode } from "../../../src/errors.js";
import { parseEndpointPolicy } from "../../../src/model/policy.js";
import type { Network } from "../../../src/model/types.js";
import { MemoryKernel, kernelError } from "../../helpers/memory-kernel.js";
import { bridgeLink, nftTable, orphanBridge } from "../../helpers/plan-ops.js";
import { harness, rejection, uniqueName, type Harness } from "../harness.js";

let h: Harness;
beforeEach(() => {
  h = harness();
});
afterEach(() => {
  h.close();
});

const subnet = (prefix: string, i = 0, gateway?: string): SubnetSpec => {
  const base = {
    prefix,
    prefixField: `Ipams[0].Subnets[${i}].IpAddressPrefix`,
    gatewayField: `Ipams[0].Subnets[${i}].Routes[0].NextHop`,
  };
  return gateway === undefined ? base : { ...base, gateway };
};

const netSpec = (name: string, ...subnets: SubnetSpec[]): NetworkSpec => ({ name, type: "NAT", subnets });

const epSpec = (name: string, network: string, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({
  name,
  network,
  policies: [],
  ips: [],
  portMappings: [],
  ...extra,
});

const mapping = (i: number, hostPort: number, internalPort = 80, hostIp?: string): PortMappingSpec => {
  const base = { field: `Policies[${i}].Settings`, protocol: "tcp" as const, hostPort, internalPort };
  return hostIp === undefined ? base : { ...base, hostIp };
};

const ip = (i: number, address: string): { field: string; address: string } => ({
  field: `IpConfigurations[${i}].IpAddress`,
  address,
});

/** Everything the store holds, to prove a refused request recorded nothing. */
function snapshot(): unknown {
  return {
    networks: h.service.networks(),
    endpoints: h.service.endpoints(),
    namespaces: h.service.namespaces(),
  };
}

/** The kernel holds exactly what the store asks for. */
function expectConverged(): void {
  const desired = desiredState({
    networks: h.store.networks(),
    endpoints: h.store.endpoints(),
    namespaces: h.store.namespaces(),
    loadBalancers: [],
    instance: h.store.instanceId(),
    skeleton: defaultSkeleton,
  });
  expect(new Set(h.kernel.objects.keys())).toEqual(new Set(desired.map(identity)));
}

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
    expectConverged();
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
    expectConverged();
  });

  it("picks 172.16.0.0/16 when no subnet is given and nothing is in the way", async () => {
    const net = await h.service.createNetwork(netSpec("n1"));
    expect(net.subnets.map((s) => [s.prefix, s.gateway])).toEqual([["172.16.0.0/16", "172.16.0.1"]]);
  });

  it("picks a default subnet that avoids the host's prefixes and existing networks", async () => {
    h.close();
    h = harness({ hostPrefixes: ["172.16.0.0/16", "172.17.3.0/24", "10.0.0.0/8"] });
    await h.service.createNetwork(netSpec("explicit", subnet("172.18.128.0/20")));
    const net = await h.service.createNetwork(netSpec("auto"));
    expect(net.subnets.map((s) => s.prefix)).toEqual(["172.19.0.0/16"]);
    const next = await h.service.createNetwork(netSpec("auto2"));
    expect(next.subnets.map((s) => s.prefix)).toEqual(["172.20.0.0/16"]);
  });

  it("gives Conflict on subnets when the whole default pool is taken", async () => {
    h.close();
    h = harness({ hostPrefixes: ["172.16.0.0/12"] });
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
      const before = snapshot();
      const applied = h.kernel.applied.length;
      const err = await rejection(h.service.createNetwork(spec));
      expect({ code: err.code, field: err.detail.field }).toEqual({ code, field });
      if (code === "InvalidArgument") expect(err.message.startsWith(`${field}: `)).toBe(true);
      expect(snapshot()).toEqual(before);
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
    expectConverged();
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
    expectConverged();
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
    expectConverged();
  });

  it("refuses a network with endpoints with Conflict, unless forced", async () => {
    const net = await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    const ns = await h.service.createNamespace({ name: uniqueName("c") });
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: ns.name } }));
    const before = snapshot();
    const applied = h.kernel.applied.length;
    const err = await rejection(h.service.deleteNetwork("n1"));
    expect(err.code).toBe("Conflict");
    expect(err.message).toContain("1 endpoint");
    expect(snapshot()).toEqual(before);
    expect(h.kernel.applied).toHaveLength(applied);

    await h.service.deleteNetwork(net.id, { force: true });
    expect(h.service.networks()).toEqual([]);
    expect(h.service.endpoints()).toEqual([]);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    expect(h.kernel.ownedBy(`net:${net.id}`)).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    expectConverged();
  });

  it("gives NotFound for an unknown network", async () => {
    const err = await rejection(h.service.deleteNetwork("nope"));
    expect(err.code).toBe("NotFound");
  });
});

describe("createEndpoint", () => {
  let net: Network;
  let nsName: string;
  beforeEach(async () => {
    net = await h.service.createNetwork(netSpec("n1", subnet("10.30.0.0/24"), subnet("fd30::/64", 1)));
    nsName = uniqueName("c");
    await h.service.createNamespace({ name: nsName });
  });

  it("allocates one address per subnet for a detached endpoint, and touches no kernel object", async () => {
    const applied = h.kernel.applied.length;
    const ep = await h.service.createEndpoint(epSpec("e1", "n1"));
    expect(ep.addresses.map((a) => [a.address, a.prefixLength])).toEqual([
      ["10.30.0.2", 24],
      ["fd30::2", 64],
    ]);
    expect(ep.attachment).toBeNull();
    expect(ep.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(h.kernel.applied).toHaveLength(applied);
  });

  it("builds veth, container link, addresses and routes for an attached endpoint", async () => {
    const ep = await h.service.createEndpoint(
      epSpec("e1", net.id, {
        attach: { namespace: nsName },
        mac: "02:AA:BB:CC:DD:EE",
        ips: [ip(0, "10.30.0.77")],
      }),
    );
    expect(ep.mac).toBe("02:aa:bb:cc:dd:ee");
    expect(ep.addresses.map((a) => a.address)).toEqual(["10.30.0.77", "fd30::2"]);
    const path = `/run/netns/${nsName}`;
    expect(ep.attachment).toMatchObject({ kind: "namespace", ifname: "eth0" });
    expect(h.kernel.has(`link:hnv-${ep.shortId}`)).toBe(true);
    expect(h.kernel.objects.get(`clink:${path}:eth0`)).toMatchObject({ mac: "02:aa:bb:cc:dd:ee" });
    expect(h.kernel.has(`addr:${path}:eth0:10.30.0.77/24`)).toBe(true);
    expect(h.kernel.has(`addr:${path}:eth0:fd30::2/64`)).toBe(true);
    expect(h.kernel.objects.get(`route:${path}:4:default`)).toMatchObject({ via: "10.30.0.1" });
    expect(h.kernel.objects.get(`route:${path}:6:default`)).toMatchObject({ via: "fd30::1" });
    expectConverged();
  });

  it("adds a map element per family for a port mapping", async () => {
    const ep = await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: nsName }, portMappings: [mapping(0, 8080, 80)] }),
    );
    expect(ep.portMappings).toEqual([{ protocol: "tcp", hostIp: null, hostPort: 8080, internalPort: 80 }]);
    expect(h.kernel.objects.get("nft:portmap4:tcp . 8080")).toMatchObject({ owner: `ep:${ep.id}` });
    expect(h.kernel.objects.get("nft:portmap6:tcp . 8080")).toMatchObject({ owner: `ep:${ep.id}` });
  });

  describe("refuses invalid input, recording and applying nothing", () => {
    const cases: [string, (ns: string) => EndpointSpec, ErrorCode, string | undefined][] = [
      ["an invalid name", () => epSpec("bad name", "n1"), "InvalidArgument", "name"],
      ["an unknown network", () => epSpec("e9", "nope"), "NotFound", "network"],
      ["a malformed MAC", () => epSpec("e9", "n1", { mac: "02:00:00:00:00" }), "InvalidArgument", "mac"],
      [
        "a MAC with bad digits",
        () => epSpec("e9", "n1", { mac: "zz:00:00:00:00:01" }),
        "InvalidArgument",
        "mac",
      ],
      ["a multicast MAC", () => epSpec("e9", "n1", { mac: "01:00:5e:00:00:01" }), "InvalidArgument", "mac"],
      ["the zero MAC", () => epSpec("e9", "n1", { mac: "00:00:00:00:00:00" }), "InvalidArgument", "mac"],
      [
        "a malformed IP",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0")] }),
        "InvalidArgument",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "an IP in no subnet",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.31.0.5")] }),
        "InvalidArgument",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "two IPs in one subnet",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0.5"), ip(1, "10.30.0.6")] }),
        "InvalidArgument",
        "IpConfigurations[1].IpAddress",
      ],
      [
        "the network address",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0.0")] }),
        "InvalidArgument",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "the broadcast address",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0.255")] }),
        "InvalidArgument",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "the gateway",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0.1")] }),
        "Conflict",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "an IP in use",
        () => epSpec("e9", "n1", { ips: [ip(0, "10.30.0.50")] }),
        "Conflict",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "an IPv6 address in use",
        () => epSpec("e9", "n1", { ips: [ip(0, "fd30::50")] }),
        "Conflict",
        "IpConfigurations[0].IpAddress",
      ],
      [
        "host port 0",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 0)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "host port 70000",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 70000)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "internal port 0",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 0)] }),
        "InvalidArgument",
        "Policies[0].Settings.InternalPort",
      ],
      [
        "internal port 65536",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 65536)] }),
        "InvalidArgument",
        "Policies[0].Settings.InternalPort",
      ],
      [
        "a fractional port",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 80.5)] }),
        "InvalidArgument",
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "a malformed VIP",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081, 80, "1.2.3")] }),
        "InvalidArgument",
        "Policies[0].Settings.VIP",
      ],
      [
        "one host port twice in a request",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081), mapping(1, 8081, 81)] }),
        "Conflict",
        "Policies[1].Settings",
      ],
      [
        "one host port any-address and bound",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 8081), mapping(1, 8081, 81, "127.0.0.1")] }),
        "Conflict",
        "Policies[1].Settings",
      ],
      [
        "a host port another endpoint maps",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 9090)] }),
        "Conflict",
        "Policies[0].Settings",
      ],
      [
        "a bound host port another endpoint maps on every address",
        () => epSpec("e9", "n1", { portMappings: [mapping(0, 9090, 80, "10.1.1.1")] }),
        "Conflict",
        "Policies[0].Settings",
      ],
      [
        "an unknown namespace",
        () => epSpec("e9", "n1", { attach: { namespace: "nope" } }),
        "NotFound",
        "namespace",
      ],
      [
        "an interface name of 16 characters",
        (ns) => epSpec("e9", "n1", { attach: { namespace: ns, ifname: "a".repeat(16) } }),
        "InvalidArgument",
        "ifname",
      ],
      [
        "an interface name with a slash",
        (ns) => epSpec("e9", "n1", { attach: { namespace: ns, ifname: "a/b" } }),
        "InvalidArgument",
        "ifname",
      ],
      [
        "an interface name of '..'",
        (ns) => epSpec("e9", "n1", { attach: { namespace: ns, ifname: ".." } }),
        "InvalidArgument",
        "ifname",
      ],
      [
        "an interface another endpoint has",
        (ns) => epSpec("e9", "n1", { attach: { namespace: ns, ifname: "eth0" } }),
        "Conflict",
        "ifname",
      ],
      ["a name already taken", () => epSpec("taken", "n1"), "Conflict", "name"],
    ];

    it.each(cases)("%s", async (_what, spec, code, field) => {
      await h.service.createEndpoint(
        epSpec("taken", "n1", {
          attach: { namespace: nsName },
          ips: [ip(0, "10.30.0.50"), ip(1, "fd30::50")],
          portMappings: [mapping(0, 9090)],
        }),
      );
      const before = snapshot();
      const applied = h.kernel.applied.length;
      const err = await rejection(h.service.createEndpoint(spec(nsName)));
      expect({ code: err.code, field: err.detail.field }).toEqual({ code, field });
      expect(snapshot()).toEqual(before);
      expect(h.kernel.applied).toHaveLength(applied);
      // The addresses a refused request would have taken are still free.
      const next = await h.service.createEndpoint(epSpec("after", "n1"));
      expect(next.addresses.map((a) => a.address)).toEqual(["10.30.0.2", "fd30::2"]);
    });
  });

  // Docker's `-p 0.0.0.0:8080:80` means every host address, not one no packet is sent to.
  it.each(["0.0.0.0", "::"])(
    "reads a mapping bound to the unspecified address %s as one on every address",
    async (vip) => {
      await h.service
        .createEndpoint(epSpec("e1", "n1", { portMappings: [mapping(0, 8080, 80, vip)] }))
        .catch(() => undefined);
      const bound = h.service.endpoints().flatMap((e) => e.portMappings.map((m) => m.hostIp));
      expect(bound).not.toContain(vip);
    },
  );

  it("refuses a VIP of a family the network lacks", async () => {
    await h.service.createNetwork(netSpec("v4", subnet("10.40.0.0/24")));
    const err = await rejection(
      h.service.createEndpoint(epSpec("e1", "v4", { portMappings: [mapping(0, 8080, 80, "fd00::1")] })),
    );
    expect([err.code, err.detail.field]).toEqual(["InvalidArgument", "Policies[0].Settings.VIP"]);
  });

  it("gives Conflict when the subnet is full", async () => {
    await h.service.createNetwork(netSpec("tiny", subnet("10.41.0.0/30")));
    await h.service.createEndpoint(epSpec("e1", "tiny"));
    const err = await rejection(h.service.createEndpoint(epSpec("e2", "tiny")));
    expect(err.code).toBe("Conflict");
    expect(h.service.endpoints({ network: "tiny" })).toHaveLength(1);
  });

  it("rolls back the record and frees the address when the kernel refuses", async () => {
    h.kernel.failNext(2);
    const err = await rejection(
      h.service.createEndpoint(
        epSpec("e1", "n1", { attach: { namespace: nsName }, ips: [ip(0, "10.30.0.9")] }),
      ),
    );
    expect(err.code).toBe("Internal");
    expect(h.service.endpoints()).toEqual([]);
    expect(h.kernel.ofKind("veth")).toEqual([]);
    const again = await h.service.createEndpoint(
      epSpec("e1", "n1", { attach: { namespace: nsName }, ips: [ip(0, "10.30.0.9")] }),
    );
    expect(again.addresses[0]?.address).toBe("10.30.0.9");
    expectConverged();
  });

  it("gives 50 concurrent requests 50 distinct addresses", async () => {
    const spaces = await Promise.all(
      Array.from({ length: 5 }, () => h.service.createNamespace({ name: uniqueName("p") })),
    );
    const eps = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.service.createEndpoint(
          epSpec(`p${i}`, "n1", {
            attach: { namespace: spaces[i % 5]?.name ?? "", ifname: `eth${Math.floor(i / 5)}` },
            portMappings: [mapping(0, 20000 + i)],
          }),
        ),
      ),
    );
    const v4 = eps.map((e) => e.addresses.find((a) => a.family === 4)?.address);
    const v6 = eps.map((e) => e.addresses.find((a) => a.family === 6)?.address);
    expect(new Set(v4).size).toBe(50);
    expect(new Set(v6).size).toBe(50);
    expect(v4).not.toContain("10.30.0.1");
    expect(new Set(eps.map((e) => e.mac)).size).toBe(50);
    expect(h.kernel.ofKind("veth")).toHaveLength(50);
    expect(h.kernel.refused).toEqual([]);
    expectConverged();
  });
});

describe("endpoint lifecycle", () => {
  let nsName: string;
  beforeEach(async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.30.0.0/24"), subnet("fd30::/64", 1)));
    nsName = uniqueName("c");
    await h.service.createNamespace({ name: nsName });
  });

  it("deletes an endpoint's kernel objects and frees its addresses and ports", async () => {
    const ep = await h.service.createEndpoint(
      epSpec("e1", "n1", {
        attach: { namespace: nsName },
        ips: [ip(0, "10.30.0.9")],
        portMappings: [mapping(0, 8080)],
      }),
    );
    await h.service.deleteEndpoint("e1");
    expect(h.service.endpoints()).toEqual([]);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    const again = await h.service.createEndpoint(
      epSpec("e2", "n1", { ips: [ip(0, "10.30.0.9")], portMappings: [mapping(0, 8080)] }),
    );
    expect(again.addresses[0]?.address).toBe("10.30.0.9");
    expectConverged();
  });

  it("detaches (kernel objects go, addresses stay) and attaches again to the same interface", async () => {
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const objects = h.kernel.ownedBy(`ep:${ep.id}`).map(identity).sort();
    const detached = await h.service.detachEndpoint("e1");
    expect(detached.attachment).toBeNull();
    expect(detached.addresses).toEqual(ep.addresses);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    const attached = await h.service.attachEndpoint("e1", { namespace: nsName });
    expect(attached.attachment).toEqual(ep.attachment);
    expect(h.kernel.ownedBy(`ep:${ep.id}`).map(identity).sort()).toEqual(objects);
    expect(h.kernel.refused).toEqual([]);
    expectConverged();
  });

  it("attaching twice to the same place changes nothing; elsewhere is a Conflict", async () => {
    await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    const applied = h.kernel.applied.length;
    await h.service.attachEndpoint("e1", { namespace: nsName, ifname: "eth0" });
    expect(h.kernel.applied).toHaveLength(applied);
    const err = await rejection(h.service.attachEndpoint("e1", { namespace: nsName, ifname: "eth1" }));
    expect(err.code).toBe("Conflict");
  });

  it("detaching a detached endpoint changes nothing", async () => {
    await h.service.createEndpoint(epSpec("e1", "n1"));
    const applied = h.kernel.applied.length;
    const ep = await h.service.detachEndpoint("e1");
    expect(ep.attachment).toBeNull();
    expect(h.kernel.applied).toHaveLength(applied);
  });

  it("rolls an attach back when the kernel refuses", async () => {
    await h.service.createEndpoint(epSpec("e1", "n1"));
    h.kernel.failNext(2);
    const err = await rejection(h.service.attachEndpoint("e1", { namespace: nsName }));
    expect(err.code).toBe("Internal");
    expect(h.service.endpoint("e1").attachment).toBeNull();
    expect(h.kernel.ofKind("veth")).toEqual([]);
  });

  it("deleting a namespace detaches its endpoints and deletes the netns", async () => {
    const ns = h.service.namespace(nsName);
    const ep = await h.service.createEndpoint(epSpec("e1", "n1", { attach: { namespace: nsName } }));
    expect(h.kernel.has(`netns:${nsName}`)).toBe(true);
    await h.service.deleteNamespace(ns.id);
    expect(h.service.namespaces()).toEqual([]);
    expect(h.service.endpoint("e1").attachment).toBeNull();
    expect(h.kernel.has(`netns:${nsName}`)).toBe(false);
    expect(h.kernel.ownedBy(`ep:${ep.id}`)).toEqual([]);
    expect(h.kernel.refused).toEqual([]);
    expectConverged();
  });

  it("gives NotFound for unknown endpoints", async () => {
    expect((await rejection(h.service.deleteEndpoint("nope"))).code).toBe("NotFound");
    expect((await rejection(h.service.attachEndpoint("nope", { namespace: nsName }))).code).toBe("NotFound");
    expect((await rejection(h.service.detachEndpoint("nope"))).code).toBe("NotFound");
    expect(() => h.service.endpoint("nope")).toThrow(/not found/);
    expect(() => h.service.endpoints({ network: "nope" })).toThrow(/not found/);
  });
});

describe("namespaces", () => {
  it("creates an owned namespace under /run/netns and refuses a duplicate name", async () => {
    const name = uniqueName("c");
    const ns = await h.service.createNamespace({ name });
    expect(ns).toMatchObject({ name, path: `/run/netns/${name}`, owned: true });
    expect(h.kernel.has(`netns:${name}`)).toBe(true);
    const err = await rejection(h.service.createNamespace({ name }));
    expect([err.code, err.detail.field]).toEqual(["Conflict", "name"]);
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
});

describe("plan, restart and the default network", () => {
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
    expectConverged();
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
    expectConverged();
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
    expectConverged();
  });

  // A scoped converge that must re-create the nft table also restores the elements of other owners.
  it("a converge that re-creates the nft table restores the elements of other owners", async () => {
    await h.service.createNetwork(netSpec("n1", subnet("10.10.0.0/24")));
    for (const id of [...h.kernel.objects.keys()]) if (id.startsWith("nft:")) h.kernel.objects.delete(id);
    await h.service.createNetwork(netSpec("n2", subnet("10.11.0.0/24")));
    expectConverged();
  });

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

  it("a long mixed session never makes the kernel refuse an op, and ends converged", async () => {
    const kernel = new MemoryKernel();
    h.close();
    h = harness({ kernel });
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
    expectConverged();
    expect((await h.reconciler.preview()).ops).toEqual([]);
    await h.service.deleteNetwork("a", { force: true });
    await h.service.deleteNamespace(c2.id);
    expect(kernel.refused).toEqual([]);
    expect(kernel.list().every((o) => o.owner === "global")).toBe(true);
  });
});

describe("network policies", () => {
  const policy = (i: number, type: string, settings: unknown): PolicySpec => ({
    field: `Policies[${i}].Settings`,
    policy: parseEndpointPolicy(`Policies[${i}]`, type, settings),
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
    expectConverged();
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
    const before = snapshot();
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
    expect(snapshot()).toEqual(before);
    expectConverged();
    const create = h.service.createNetwork({ ...netSpec("n2", subnet("10.20.0.0/24")), policies: [badHop] });
    expect(await rejection(create)).toMatchObject({ detail: { field: "Policies[0].Settings.NextHop" } });
    expect(snapshot()).toEqual(before);
  });
});
