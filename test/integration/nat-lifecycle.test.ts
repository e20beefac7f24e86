import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { link, linkNames, nftElements } from "../helpers/kernel-state.js";
import type { Topology } from "../helpers/topology.js";

interface ErrorBody {
  error: { code: string; field?: string };
}

describe.skipIf(needsRoot)("NAT network: addresses, deletion and bad input", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("n1", ["10.77.0.0/24", "fd77::/64"]);
  });

  it("gives an endpoint exactly the static IPs and MAC it asked for", async () => {
    await d.ok("POST", "/namespaces", { Name: t.ns("s1") });
    await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: "static",
      HostComputeNetwork: "n1",
      HostComputeNamespace: t.ns("s1"),
      InterfaceName: "net0",
      IpConfigurations: [{ IpAddress: "10.77.0.200" }, { IpAddress: "fd77::c8" }],
      MacAddress: "02:00:00:aa:bb:cc",
    });
    const inside = await link(t.ns("s1"), "net0");
    expect(inside?.address).toBe("02:00:00:aa:bb:cc");
    const addrs = inside?.addr_info
      .filter((a) => a.scope === "global")
      .map((a) => `${a.local}/${a.prefixlen}`);
    expect(addrs?.sort()).toEqual(["10.77.0.200/24", "fd77::c8/64"]);
  });

  it("never hands out one address twice under 50 concurrent creations, and frees it on delete", async () => {
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        d.ok<EndpointBody>("POST", "/endpoints", { Name: `bulk${i}`, HostComputeNetwork: "n1" }),
      ),
    );
    const v4 = created.map((e) => e.IpConfigurations[0]?.IpAddress);
    expect(new Set(v4).size).toBe(50);
    expect(v4).not.toContain("10.77.0.200");
    const freed = v4[7] ?? "";
    await d.ok("DELETE", "/endpoints/bulk7");
    const again = await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: "reuse",
      HostComputeNetwork: "n1",
      IpConfigurations: [{ IpAddress: freed }],
    });
    expect(again.IpConfigurations[0]?.IpAddress).toBe(freed);
    await Promise.all(
      [...created.map((e) => e.ID), again.ID].map((id) => d.api("DELETE", `/endpoints/${id}`)),
    );
  });

  it("refuses bad input with a 4xx naming the field, and changes nothing", async () => {
    const linksBefore = await linkNames(t.host);
    const nftBefore = await nftElements(t.host);
    const cases: [string, string, unknown, number, string][] = [
      ["POST", "/networks", "{not json", 400, "body"],
      [
        "POST",
        "/networks",
        { Name: "bad", Ipams: [{ Subnets: [{ IpAddressPrefix: "10.1.0.0/33" }] }] },
        400,
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      [
        "POST",
        "/networks",
        {
          Name: "bad",
          Ipams: [{ Subnets: [{ IpAddressPrefix: "10.1.0.0/24", Routes: [{ NextHop: "10.2.0.1" }] }] }],
        },
        400,
        "Ipams[0].Subnets[0].Routes[0].NextHop",
      ],
      [
        "POST",
        "/networks",
        { Name: "bad", Ipams: [{ Subnets: [{ IpAddressPrefix: "10.77.0.128/25" }] }] },
        409,
        "Ipams[0].Subnets[0].IpAddressPrefix",
      ],
      ["POST", "/endpoints", { Name: "bad", HostComputeNetwork: "nope" }, 404, "HostComputeNetwork"],
      [
        "POST",
        "/endpoints",
        {
          Name: "bad",
          HostComputeNetwork: "n1",
          Policies: [
            { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 0 } },
          ],
        },
        400,
        "Policies[0].Settings.ExternalPort",
      ],
      [
        "POST",
        "/endpoints",
        {
          Name: "bad",
          HostComputeNetwork: "n1",
          Policies: [
            { Type: "PortMapping", Settings: { Protocol: "UDP", InternalPort: 70000, ExternalPort: 80 } },
          ],
        },
        400,
        "Policies[0].Settings.InternalPort",
      ],
      [
        "POST",
        "/endpoints",
        {
          Name: "bad",
          HostComputeNetwork: "n1",
          HostComputeNamespace: t.ns("s1"),
          InterfaceName: "averyveryverylongname",
        },
        400,
        "InterfaceName",
      ],
    ];
    for (const [method, path, body, status, field] of cases) {
      const res = await d.api(method, path, body);
      expect({ path, status: res.status, field: (res.body as ErrorBody).error.field }).toEqual({
        path,
        status,
        field,
      });
    }
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
    expect(await linkNames(t.host)).toEqual(linksBefore);
    expect(await nftElements(t.host)).toEqual(nftBefore);
    expect((await d.ok<unknown[]>("GET", "/networks")).length).toBe(1);
    expect(await d.api("GET", "/endpoints/bad")).toMatchObject({ status: 404 });
  });

  it("refuses a subnet holding the host's own address or its default gateway, as the kernel reports them", async () => {
    const linksBefore = await linkNames(t.host);
    const subnet = (prefix: string) => ({
      Name: "cutoff",
      Ipams: [{ Subnets: [{ IpAddressPrefix: prefix }] }],
    });
    // The lab's host has 192.0.2.1/24 and 2001:db8:1::1/64 on its uplink, default routes via ::2 and .2.
    for (const [prefix, held] of [
      ["192.0.2.0/30", "192.0.2.1"],
      ["192.0.2.2/31", "192.0.2.2"],
      ["2001:db8:1::/64", "2001:db8:1::1"],
    ] as const) {
      const res = await d.api("POST", "/networks", subnet(prefix));
      expect({ prefix, status: res.status, field: (res.body as ErrorBody).error.field }).toEqual({
        prefix,
        status: 409,
        field: "Ipams[0].Subnets[0].IpAddressPrefix",
      });
      expect(JSON.stringify(res.body)).toContain(held);
    }
    expect(await linkNames(t.host)).toEqual(linksBefore);
    expect((await d.ok<unknown[]>("GET", "/networks")).length).toBe(1);
  });

  it("refuses a second mapping of the same host port and protocol with 409", async () => {
    const mapping = {
      Type: "PortMapping",
      Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8500 },
    };
    await d.ok("POST", "/endpoints", { Name: "p1", HostComputeNetwork: "n1", Policies: [mapping] });
    const res = await d.api("POST", "/endpoints", {
      Name: "p2",
      HostComputeNetwork: "n1",
      Policies: [mapping],
    });
    expect(res.status).toBe(409);
    expect((res.body as ErrorBody).error.field).toBe("Policies[0].Settings");
    await d.ok("DELETE", "/endpoints/p1");
  });

  it("removes every kernel object of a deleted endpoint, namespace and network", async () => {
    await lab.network("gone", ["10.66.0.0/24"]);
    await d.ok("POST", "/namespaces", { Name: t.ns("g1") });
    const ep = await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: "g1",
      HostComputeNetwork: "gone",
      HostComputeNamespace: t.ns("g1"),
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8600 } },
      ],
    });
    const bridge = (await d.ok<{ Bridge: string }>("GET", "/networks/gone")).Bridge;
    expect(await linkNames(t.host)).toEqual(expect.arrayContaining([bridge, ep.HostInterfaceName]));
    expect((await nftElements(t.host)).some((e) => e.includes(ep.ID))).toBe(true);

    expect((await d.api("DELETE", "/networks/gone")).status).toBe(409);
    await d.ok("DELETE", "/endpoints/g1");
    expect(await linkNames(t.host)).not.toContain(ep.HostInterfaceName);
    expect((await nftElements(t.host)).some((e) => e.includes(ep.ID))).toBe(false);

    await d.ok("DELETE", `/namespaces/${t.ns("g1")}`);
    expect(existsSync(`/run/netns/${t.ns("g1")}`)).toBe(false);

    await d.ok("POST", "/endpoints", { Name: "g2", HostComputeNetwork: "gone" });
    await d.ok("DELETE", "/networks/gone?force=true");
    expect(await linkNames(t.host)).not.toContain(bridge);
    expect((await nftElements(t.host)).some((e) => e.includes("10.66.0.0"))).toBe(false);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });
});
