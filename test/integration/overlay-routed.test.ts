/**
 * A routed overlay across three hosts (Kubernetes' win-overlay): each hostnetd runs with --host-address and
 * no etcd, each host has its own subnet of one VXLAN, and RemoteSubnetRoute policies route the other hosts'
 * subnets to their bridges. Containers on different hosts reach each other unNATed, and the outside
 * masqueraded; removing a policy cuts that path and its kernel entries; a restart repairs a deleted route.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

const VNI = 4096;
const PORT = 7300;

interface NetworkBody {
  Mtu: number;
  Bridge: string;
  DrMacAddress?: string;
}
interface EndpointBody {
  IpConfigurations: { IpAddress: string }[];
}

const subnetOf = (host: number): string => `10.244.${host + 1}.0/24`;

describe.skipIf(needsRoot)("a routed overlay across three hosts (RemoteSubnetRoute)", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const nets: NetworkBody[] = [];
  const address: string[] = [];

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);
  const hostNs = (host: number): string => u.hosts[host]?.ns ?? "";
  const container = (host: number): string => `${u.prefix}c${host + 1}`;
  const route = (to: number): Record<string, unknown> => ({
    Type: "RemoteSubnetRoute",
    Settings: {
      DestinationPrefix: subnetOf(to),
      IsolationId: VNI,
      ProviderAddress: u.hosts[to]?.address,
      DistributedRouterMacAddress: nets[to]?.DrMacAddress,
    },
  });
  const json = async <T>(host: number, argv: string[]): Promise<T> =>
    JSON.parse(await must(["ip", "netns", "exec", hostNs(host), ...argv])) as T;
  /** What host `host` has for the route to `to`'s subnet: its route, neighbour and FDB entries. */
  const entries = async (host: number, to: number) => {
    const net = nets[host];
    const bridge = net?.Bridge ?? "";
    const vxlan = bridge.replace("hnb-", "hnx-");
    const mac = nets[to]?.DrMacAddress;
    const routes = await json<{ dst: string; gateway?: string; flags?: string[] }[]>(host, [
      "ip",
      "-j",
      "route",
      "show",
      "dev",
      bridge,
    ]);
    const neighbours = await json<{ dst: string; lladdr?: string }[]>(host, [
      "ip",
      "-j",
      "neigh",
      "show",
      "dev",
      bridge,
    ]);
    const fdb = await json<{ mac: string; dst?: string; master?: string }[]>(host, [
      "bridge",
      "-j",
      "fdb",
      "show",
      "dev",
      vxlan,
    ]);
    return {
      route: routes.find((r) => r.dst === subnetOf(to)),
      neighbour: neighbours.find((n) => n.lladdr === mac),
      fdb: fdb.filter((e) => e.mac === mac),
    };
  };

  beforeAll(async () => {
    u = await createUnderlay(3, { etcd: false });
    cleanup.add(() => u.destroy());
    // Host 2's underlay has a smaller MTU: its network's MTU follows its own uplink.
    await must(["ip", "-n", hostNs(1), "link", "set", "dev", "up0", "mtu", "1400"]);
    d.push(...(await startHostDaemons(cleanup, u.hosts)));
  }, 60_000);
  afterAll(() => cleanup.run());

  it("gives each host's network its uplink's MTU less 50, and shows the bridge's MAC as the router's", async () => {
    for (const [host] of u.hosts.entries()) {
      const net = await daemonOn(host).ok<NetworkBody>("POST", "/networks", {
        Name: "vxlan0",
        Type: "Overlay",
        Ipams: [{ Subnets: [{ IpAddressPrefix: subnetOf(host) }] }],
        Policies: [{ Type: "VSID", Settings: { IsolationId: VNI } }],
      });
      nets.push(net);
      const [link] = await json<{ address: string; mtu: number }[]>(host, [
        "ip",
        "-j",
        "link",
        "show",
        "dev",
        net.Bridge,
      ]);
      expect(link?.address).toBe(net.DrMacAddress);
      expect(link?.mtu).toBe(net.Mtu);
    }
    expect(nets.map((n) => n.Mtu)).toEqual([1450, 1350, 1450]);
  });

  it("routes the other hosts' subnets through the VXLAN: containers reach each other unNATed", async () => {
    for (const [host] of u.hosts.entries()) {
      const others = [0, 1, 2].filter((h) => h !== host);
      await daemonOn(host).ok("POST", "/networks/vxlan0/policies", {
        RequestType: "Add",
        Policies: others.map(route),
      });
      await daemonOn(host).ok("POST", "/namespaces", { Name: container(host) });
      const ep = await daemonOn(host).ok<EndpointBody>("POST", "/endpoints", {
        Name: `c${host + 1}`,
        HostComputeNetwork: "vxlan0",
        HostComputeNamespace: container(host),
      });
      address.push(ep.IpConfigurations[0]?.IpAddress ?? "");
      cleanup.track(await startEchoServers(container(host), PORT));
    }
    const seen = await entries(0, 1);
    expect(seen.route).toMatchObject({ gateway: "10.244.2.0", flags: ["onlink"] });
    expect(seen.neighbour?.dst).toBe("10.244.2.0");
    expect(seen.fdb.map((e) => e.dst ?? `master ${e.master ?? ""}`).sort()).toEqual([
      "192.168.77.2",
      `master ${nets[0]?.Bridge ?? ""}`,
    ]);
    for (const [from, to] of [
      [0, 1],
      [0, 2],
      [1, 2],
      [2, 0],
    ] as const) {
      expect(await within(5000, () => ping(container(from), address[to] ?? ""))).toBeDefined();
      // The server sees the container's own address: traffic between overlay subnets is not masqueraded.
      expect(await askTcp(container(from), address[to] ?? "", PORT)).toBe(address[from]);
    }
    // The host stays the router: a redirect would send the container past its forward chain.
    const redirects = await must(["ip", "netns", "exec", container(0), "nstat", "-az", "IcmpInRedirects"]);
    expect(redirects).toMatch(/IcmpInRedirects\s+0\s/);
  });

  it("still masquerades what leaves the overlay for the underlay", async () => {
    const outside = await startEchoServers(u.ns, PORT);
    try {
      expect(await askTcp(container(0), "192.168.77.254", PORT)).toBe(u.hosts[0]?.address);
    } finally {
      await outside.stop();
    }
  });

  it("cuts the path when a policy is removed, and removes its route, neighbour and FDB entries", async () => {
    await daemonOn(0).ok("POST", "/networks/vxlan0/policies", {
      RequestType: "Remove",
      Policies: [route(1)],
    });
    expect(await entries(0, 1)).toEqual({ route: undefined, neighbour: undefined, fdb: [] });
    expect(await ping(container(0), address[1] ?? "")).toBe(false);
    expect(await ping(container(0), address[2] ?? "")).toBe(true);
    expect(await daemonOn(0).ok<{ Operations: unknown[] }>("GET", "/plan")).toEqual({ Operations: [] });
  });

  it("puts a route deleted while hostnetd was down back when it starts", async () => {
    await daemonOn(0).kill("SIGKILL");
    await must(["ip", "-n", hostNs(0), "route", "del", subnetOf(2)]);
    expect(await ping(container(0), address[2] ?? "")).toBe(false);
    await daemonOn(0).restart();
    expect((await entries(0, 2)).route).toMatchObject({ gateway: "10.244.3.0" });
    expect(await within(5000, () => ping(container(0), address[2] ?? ""))).toBeDefined();
    expect(await daemonOn(0).ok<{ Operations: unknown[] }>("GET", "/plan")).toEqual({ Operations: [] });
  });
});
