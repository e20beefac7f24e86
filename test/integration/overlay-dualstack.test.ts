/**
 * A dual-stack overlay network across two hosts: an IPv4 and an IPv6 subnet over the same IPv4 underlay.
 * Containers on different hosts reach each other over both families, each host knows the other's endpoint as
 * one remote endpoint with both addresses (one MAC, one set of FDB entries), and deleting the endpoint takes
 * both of its addresses from the other host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";

interface EndpointBody {
  ID: string;
  Name: string;
  MacAddress: string;
  IpConfigurations: { IpAddress: string }[];
}

interface NetworkBody {
  ID: string;
  Ipams: { Subnets: { IpAddressPrefix: string }[] }[];
}

const SUBNET4 = "10.60.0.0/16";
const SUBNET6 = "fd60:6f76::/64";

describe.skipIf(needsRoot)("a dual-stack overlay network across two hosts", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const addresses: Record<string, string[]> = {};

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);

  const container = async (host: number, name: string): Promise<string[]> => {
    const daemon = daemonOn(host);
    const ns = `${u.prefix}${name}`;
    await daemon.ok("POST", "/namespaces", { Name: ns });
    const ep = await daemon.ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "ds1",
      HostComputeNamespace: ns,
    });
    return ep.IpConfigurations.map((c) => c.IpAddress);
  };

  /** The other hosts' endpoints as `host` lists them. */
  const remotes = async (host: number): Promise<EndpointBody[]> =>
    (await daemonOn(host).ok<EndpointBody[]>("GET", "/endpoints")).filter((e) => e.Name.includes("@"));

  beforeAll(async () => {
    u = await createUnderlay(2);
    cleanup.add(() => u.destroy());
    d.push(...(await startHostDaemons(cleanup, u.hosts, ["--etcd", u.etcdUrl])));
  }, 60_000);
  afterAll(() => cleanup.run());

  it("defines the network with both subnets on one host, and the other host gets both", async () => {
    await daemonOn(0).ok("POST", "/networks", {
      Name: "ds1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: SUBNET4 }, { IpAddressPrefix: SUBNET6 }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4200 } }],
    });
    expect(
      await within(5000, async () => (await daemonOn(1).api("GET", "/networks/ds1")).status === 200),
    ).toBeDefined();
    const net = await daemonOn(1).ok<NetworkBody>("GET", "/networks/ds1");
    expect(net.Ipams[0]?.Subnets.map((s) => s.IpAddressPrefix)).toEqual([SUBNET4, SUBNET6]);
  });

  it("lets containers on the two hosts reach each other over IPv4 and IPv6, with distinct addresses", async () => {
    addresses["c1"] = await container(0, "c1");
    addresses["c2"] = await container(1, "c2");
    const all = [...(addresses["c1"] ?? []), ...(addresses["c2"] ?? [])];
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);
    expect(all.filter((a) => a.includes(":"))).toHaveLength(2);
    for (const [from, to] of [
      ["c1", "c2"],
      ["c2", "c1"],
    ] as const)
      for (const address of addresses[to] ?? [])
        expect(await within(5000, () => ping(`${u.prefix}${from}`, address))).toBeDefined();
  });

  it("knows the other host's dual-stack endpoint as one remote endpoint with both addresses", async () => {
    for (const [host, other] of [
      [0, "c2"],
      [1, "c1"],
    ] as const) {
      const mine = (await remotes(host)).filter((e) =>
        e.IpConfigurations.some((c) => addresses[other]?.includes(c.IpAddress)),
      );
      expect(mine).toHaveLength(1);
      expect(mine[0]?.IpConfigurations.map((c) => c.IpAddress).sort()).toEqual(
        [...(addresses[other] ?? [])].sort(),
      );
    }
    // One neighbour entry per address, both for the one MAC whose FDB entries the VXLAN port has.
    const net = await daemonOn(1).ok<NetworkBody>("GET", "/networks/ds1");
    const bridge = `hnb-${net.ID.slice(0, 8)}`;
    const shown = await must(["ip", "-n", u.hosts[1]?.ns ?? "", "-j", "neigh", "show", "dev", bridge]);
    const neighbours = JSON.parse(shown) as { dst: string; lladdr?: string }[];
    const c1 = neighbours.filter((n) => addresses["c1"]?.includes(n.dst));
    expect(c1).toHaveLength(2);
    expect(new Set(c1.map((n) => n.lladdr)).size).toBe(1);
  });

  it("takes both addresses of an endpoint deleted on host 1 from host 2, and leaves no plan on either", async () => {
    await daemonOn(0).ok("DELETE", "/endpoints/c1");
    await daemonOn(0).ok("DELETE", `/namespaces/${u.prefix}c1`);
    const gone = await within(3000, async () =>
      (await remotes(1)).every(
        (e) => !e.IpConfigurations.some((c) => addresses["c1"]?.includes(c.IpAddress)),
      ),
    );
    expect(gone).toBeDefined();
    for (const daemon of d) expect(await daemon.ok("GET", "/plan")).toEqual({ Operations: [] });
  });

  it("deletes the network from both hosts", async () => {
    await daemonOn(1).ok("DELETE", "/endpoints/c2");
    await daemonOn(1).ok("DELETE", `/namespaces/${u.prefix}c2`);
    await daemonOn(0).ok("DELETE", "/networks/ds1");
    expect(
      await within(3000, async () => (await daemonOn(1).api("GET", "/networks/ds1")).status === 404),
    ).toBeDefined();
    for (const daemon of d) expect(await daemon.ok("GET", "/plan")).toEqual({ Operations: [] });
  });
});
