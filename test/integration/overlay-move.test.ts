/**
 * An endpoint moved between hosts of a dual-stack overlay network with its addresses (deleted on host 1,
 * created on host 2) is reached from a container of host 3 within 2 s, although that container's neighbour
 * cache holds the endpoint's MAC from before the move: the MAC follows the address, so the cache stays right.
 * With a MAC the request gives anew, the sender's host answers ARP and NDP with the new MAC at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";

interface EndpointBody {
  MacAddress: string;
  IpConfigurations: { IpAddress: string }[];
}

interface Neighbour {
  dst: string;
  lladdr?: string;
  state: string[];
}

const MOVE_MS = 2000;

/** One ping with a short wait, so that polling sees the first answer soon after it is possible. */
async function shortPing(ns: string, address: string): Promise<boolean> {
  return (await run(inNs(ns, ["ping", "-n", "-q", "-c", "1", "-W", "0.2", address]))).code === 0;
}

describe.skipIf(needsRoot)("an overlay endpoint moved to another host with its addresses", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];

  const daemonOn = (host: number): TestDaemon => {
    const daemon = d[host];
    if (daemon === undefined) throw new Error(`no hostnetd on host ${host}`);
    return daemon;
  };

  const namespace = async (host: number, name: string): Promise<string> => {
    const ns = `${u.prefix}${name}`;
    await daemonOn(host).ok("POST", "/namespaces", { Name: ns });
    return ns;
  };

  const endpoint = (
    host: number,
    name: string,
    ns: string,
    ips: readonly string[] = [],
  ): Promise<EndpointBody> =>
    daemonOn(host).ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "mv1",
      HostComputeNamespace: ns,
      ...(ips.length === 0 ? {} : { IpConfigurations: ips.map((IpAddress) => ({ IpAddress })) }),
    });

  /** The sender's neighbour entry for `address`, as its kernel shows it. */
  const neighbour = async (ns: string, address: string): Promise<Neighbour | undefined> =>
    (
      JSON.parse(await must(inNs(ns, ["ip", "-j", "neigh", "show", address, "dev", "eth0"]))) as Neighbour[]
    )[0];

  beforeAll(async () => {
    u = await createUnderlay(3);
    cleanup.add(() => u.destroy());
    d.push(...(await startHostDaemons(cleanup, u.hosts, ["--etcd", u.etcdUrl])));
    await daemonOn(0).ok("POST", "/networks", {
      Name: "mv1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.70.0.0/16" }, { IpAddressPrefix: "fd70:6d76::/64" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4300 } }],
    });
    for (const daemon of d)
      expect(
        await within(5000, async () => (await daemon.api("GET", "/networks/mv1")).status === 200),
      ).toBeDefined();
  }, 60_000);
  afterAll(() => cleanup.run());

  it("is reached from a container with a warm neighbour cache within 2 s, over IPv4 and IPv6", async () => {
    const sender = await namespace(2, "sender");
    await endpoint(2, "sender", sender);
    const before = await endpoint(0, "mover", await namespace(0, "mover-a"));
    const addresses = before.IpConfigurations.map((c) => c.IpAddress);
    expect(addresses).toHaveLength(2);
    for (const address of addresses) {
      expect(await within(5000, () => shortPing(sender, address))).toBeDefined();
      const warm = await neighbour(sender, address);
      expect(warm?.lladdr).toBe(before.MacAddress);
      expect(warm?.state.some((s) => s === "REACHABLE" || s === "STALE")).toBe(true);
    }
    const arrival = await namespace(1, "mover-b");

    const start = performance.now();
    await daemonOn(0).ok("DELETE", "/endpoints/mover");
    const after = await endpoint(1, "mover", arrival, addresses);
    const requests = performance.now() - start;
    // Timed from the moment the endpoint is at its new place: the requests' own time is not the move's.
    const reached = await within(MOVE_MS, async () => {
      for (const address of addresses) if (!(await shortPing(sender, address))) return false;
      return true;
    });
    process.stdout.write(
      `moved endpoint reached over IPv4 and IPv6 ${reached === undefined ? "not within 2 s" : `${Math.round(reached)} ms`} after its create answered (delete and create took ${Math.round(requests)} ms)\n`,
    );

    expect(reached).toBeDefined();
    expect(after.IpConfigurations.map((c) => c.IpAddress)).toEqual(addresses);
    expect(after.MacAddress).toBe(before.MacAddress);
    // The sender kept its entries: the MAC it knew is still the endpoint's.
    for (const address of addresses)
      expect((await neighbour(sender, address))?.lladdr).toBe(before.MacAddress);
  });

  it("with a MAC the request gives anew, answers ARP and NDP on the sender's host with it at once", async () => {
    const before = await daemonOn(1).ok<EndpointBody>("GET", "/endpoints/mover");
    const addresses = before.IpConfigurations.map((c) => c.IpAddress);
    await daemonOn(1).ok("DELETE", "/endpoints/mover");
    const mac = "02:aa:bb:cc:dd:01";
    await daemonOn(0).ok("POST", "/endpoints", {
      Name: "mover",
      HostComputeNetwork: "mv1",
      HostComputeNamespace: `${u.prefix}mover-a`,
      MacAddress: mac,
      IpConfigurations: addresses.map((IpAddress) => ({ IpAddress })),
    });
    const net = await daemonOn(2).ok<{ ID: string }>("GET", "/networks/mv1");
    const bridge = `hnb-${net.ID.slice(0, 8)}`;
    const answered = await within(MOVE_MS, async () => {
      const shown = await must(["ip", "-n", u.hosts[2]?.ns ?? "", "-j", "neigh", "show", "dev", bridge]);
      const entries = JSON.parse(shown) as Neighbour[];
      return addresses.every((a) => entries.some((n) => n.dst === a && n.lladdr === mac));
    });
    expect(answered).toBeDefined();
    // A container that had not talked to it yet asks, and the bridge answers with the new MAC.
    const cold = await namespace(2, "cold");
    await endpoint(2, "cold", cold);
    for (const address of addresses) {
      expect(await within(MOVE_MS, () => shortPing(cold, address))).toBeDefined();
      expect((await neighbour(cold, address))?.lladdr).toBe(mac);
    }
  });

  it("leaves no plan on any host", async () => {
    for (const daemon of d) expect(await daemon.ok("GET", "/plan")).toEqual({ Operations: [] });
  });
});
