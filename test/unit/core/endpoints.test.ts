import { beforeEach, describe, expect, it } from "vitest";
import type { EndpointSpec } from "../../../src/core/specs.js";
import { identity } from "../../../src/dataplane/objects.js";
import type { ErrorCode } from "../../../src/errors.js";
import type { Network } from "../../../src/model/types.js";
import { expectConverged, rejection, uniqueName } from "../harness.js";
import { freshHarnessPerTest } from "./fresh-harness.js";
import {
  epSpec,
  expectEndpointRefused,
  ip,
  mapping,
  netSpec,
  networkAndNamespace,
  subnet,
} from "./requests.js";

const h = freshHarnessPerTest();

describe("createEndpoint", () => {
  let net: Network;
  let nsName: string;
  beforeEach(async () => {
    ({ net, nsName } = await networkAndNamespace(h));
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
    expectConverged(h);
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
      await expectEndpointRefused(h, nsName, spec(nsName), code, field);
    });
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
    expectConverged(h);
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
    expectConverged(h);
  });
});

describe("endpoint lifecycle", () => {
  let nsName: string;
  beforeEach(async () => {
    ({ nsName } = await networkAndNamespace(h));
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
    expectConverged(h);
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
    expectConverged(h);
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

  it("gives NotFound for unknown endpoints", async () => {
    expect((await rejection(h.service.deleteEndpoint("nope"))).code).toBe("NotFound");
    expect((await rejection(h.service.attachEndpoint("nope", { namespace: nsName }))).code).toBe("NotFound");
    expect((await rejection(h.service.detachEndpoint("nope"))).code).toBe("NotFound");
    expect(() => h.service.endpoint("nope")).toThrow(/not found/);
    expect(() => h.service.endpoints({ network: "nope" })).toThrow(/not found/);
  });
});
