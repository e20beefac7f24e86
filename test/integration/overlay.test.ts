/**
 * Overlay networks across three hosts: host namespaces on an underlay bridge, a real etcd, one hostnetd per
 * host. A network defined on one host exists on all; containers on different hosts reach each other over
 * VXLAN; a moved endpoint is reachable at its new place; a dead host's endpoints go with its etcd lease; a
 * network deleted on one host goes from all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import {
  createUnderlay,
  daemonAt,
  startHostDaemons,
  strayUnderlayPackets,
  type Underlay,
} from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { ping } from "../helpers/topology.js";

const LEASE_SECONDS = 3;

interface EndpointBody {
  ID: string;
  Name: string;
  MacAddress: string;
  IpConfigurations: { IpAddress: string }[];
}

describe.skipIf(needsRoot)("overlay networks across three hosts", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const address: Record<string, string> = {};
  const mac: Record<string, string> = {};

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);

  const namespace = async (host: number, name: string): Promise<string> => {
    const ns = `${u.prefix}${name}`;
    await daemonOn(host).ok("POST", "/namespaces", { Name: ns });
    return ns;
  };

  const container = async (host: number, name: string, ip?: string, macAddress?: string): Promise<string> => {
    const daemon = daemonOn(host);
    const ns = await namespace(host, name);
    const ep = await daemon.ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "ov1",
      HostComputeNamespace: ns,
      ...(ip === undefined ? {} : { IpConfigurations: [{ IpAddress: ip }] }),
      ...(macAddress === undefined ? {} : { MacAddress: macAddress }),
    });
    mac[name] = ep.MacAddress;
    return ep.IpConfigurations[0]?.IpAddress ?? "";
  };

  beforeAll(async () => {
    u = await createUnderlay(3);
    cleanup.add(() => u.destroy());
    d.push(
      ...(await startHostDaemons(cleanup, u.hosts, [
        "--etcd",
        u.etcdUrl,
        "--etcd-lease-ttl",
        String(LEASE_SECONDS),
      ])),
    );
  }, 60_000);
  afterAll(() => cleanup.run());

  it("defines a network on one host, and it exists on every host", async () => {
    await d[0]?.ok("POST", "/networks", {
      Name: "ov1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.50.0.0/16" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4096 } }],
    });
    for (const daemon of d)
      expect(
        await within(5000, async () => (await daemon.api("GET", "/networks/ov1")).status === 200),
      ).toBeDefined();
    const refused = await d[1]?.api("POST", "/networks", {
      Name: "ov1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.51.0.0/16" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4097 } }],
    });
    expect(refused?.status).toBe(409);
  });

  it("lets containers on different hosts reach each other, each with an address no other host has", async () => {
    for (const [host, name] of [
      [0, "c1"],
      [1, "c2"],
      [2, "c3"],
    ] as const)
      address[name] = await container(host, name);
    expect(new Set(Object.values(address)).size).toBe(3);
    for (const [from, to] of [
      ["c1", "c2"],
      ["c1", "c3"],
      ["c3", "c2"],
    ] as const)
      expect(await within(5000, () => ping(`${u.prefix}${from}`, address[to] ?? ""))).toBeDefined();
  });

  it("reaches an endpoint moved from host 1 to host 3 at its new place within 2 s", async () => {
    const moved = address["c1"] ?? "";
    await d[0]?.ok("DELETE", "/endpoints/c1");
    await d[0]?.ok("DELETE", `/namespaces/${u.prefix}c1`);
    const forgotten = await within(2000, async () => {
      const eps = (await d[2]?.ok<EndpointBody[]>("GET", "/endpoints")) ?? [];
      return !eps.some((e) => e.IpConfigurations.some((c) => c.IpAddress === moved));
    });
    expect(forgotten).toBeDefined();
    // The same address and MAC, as a moved workload keeps them: neighbours' ARP caches stay right.
    await container(2, "c1b", moved, mac["c1"]);
    const took = await within(2000, () => ping(`${u.prefix}c2`, moved));
    expect(took).toBeDefined();
  });

  it("removes a dead host's endpoints from the other hosts once its lease expires", async () => {
    await d[1]?.kill("SIGKILL");
    const c2 = address["c2"] ?? "";
    // Host 3's container pings below: both surviving hosts must have dropped the endpoint from their store
    // and then from the kernel, which an empty plan says (the store changes first).
    const gone = await within((LEASE_SECONDS + 5) * 1000, async () => {
      for (const daemon of [d[0], d[2]]) {
        const eps = (await daemon?.ok<EndpointBody[]>("GET", "/endpoints")) ?? [];
        if (eps.some((e) => e.IpConfigurations.some((c) => c.IpAddress === c2))) return false;
        const plan = await daemon?.ok<{ Operations: unknown[] }>("GET", "/plan");
        if (plan?.Operations.length !== 0) return false;
      }
      return true;
    });
    expect(gone).toBeDefined();
    // Host 2's kernel still has its container: only the other hosts' entries stand between them.
    expect(await ping(`${u.prefix}c3`, c2)).toBe(false);
  });

  it("deletes a network from the whole cluster, once no other host has endpoints on it", async () => {
    const refused = await d[0]?.api("DELETE", "/networks/ov1");
    expect(refused?.status).toBe(409);
    expect(JSON.stringify(refused?.body)).toContain(u.hosts[2]?.address);
    await d[2]?.ok("DELETE", "/endpoints/c3");
    await d[2]?.ok("DELETE", "/endpoints/c1b");
    await d[0]?.ok("DELETE", "/networks/ov1");
    const gone = await within(2000, async () => (await d[2]?.api("GET", "/networks/ov1"))?.status === 404);
    expect(gone).toBeDefined();
    expect(await d[2]?.ok("GET", "/plan")).toEqual({ Operations: [] });
    // The cluster forgot its definition too: the name can be defined anew, otherwise.
    await d[2]?.ok("POST", "/networks", {
      Name: "ov1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.52.0.0/16" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4100 } }],
    });
    expect(
      await within(2000, async () => (await d[0]?.api("GET", "/networks/ov1"))?.status === 200),
    ).toBeDefined();
  });

  it("never sent the underlay a packet to or from an address outside it", async () => {
    expect(await strayUnderlayPackets(u)).toBe(0);
  });
});
