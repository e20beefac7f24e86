/**
 * Policies and load balancers on an overlay network across two hosts (underlay namespaces, a real etcd, one
 * hostnetd per host): an ACL and a QoS limit of an endpoint on host 1 act on traffic to and from a container
 * on host 2; a load balancer on host 1 with one backend there and one on host 2 serves clients outside, in
 * a container of host 1 and on host 1 itself, the replies of host 2's backend coming back through host 1;
 * deleting the remote backend's endpoint takes it out of the load balancer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import {
  askTcp,
  measureThroughput,
  startEchoServers,
  askTcpMany,
  startNameServer,
} from "../helpers/traffic.js";

const VIP = "198.51.100.10";
const KUBE_VIP = "198.51.100.11";
const LIMIT = 1_000_000; // bytes per second
const CONNECTIONS = 60;

interface EndpointBody {
  ID: string;
  Name: string;
  MacAddress: string;
  IpConfigurations: { IpAddress: string }[];
}

const acl = (settings: Record<string, unknown>): { Type: string; Settings: Record<string, unknown> } => ({
  Type: "ACL",
  Settings: settings,
});

describe.skipIf(needsRoot)("policies and load balancers on an overlay network across two hosts", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const address: Record<string, string> = {};
  let source = "";

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);
  const nsOf = (name: string): string => `${u.prefix}${name}`;

  const container = async (host: number, name: string): Promise<void> => {
    const daemon = daemonOn(host);
    await daemon.ok("POST", "/namespaces", { Name: nsOf(name) });
    const ep = await daemon.ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "ov1",
      HostComputeNamespace: nsOf(name),
    });
    address[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
  };

  beforeAll(async () => {
    u = await createUnderlay(2);
    cleanup.add(() => u.destroy());
    d.push(...(await startHostDaemons(cleanup, u.hosts, ["--etcd", u.etcdUrl])));
    await daemonOn(0).ok("POST", "/networks", {
      Name: "ov1",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.50.0.0/16" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4096 } }],
    });
    expect(
      await within(5000, async () => (await daemonOn(1).api("GET", "/networks/ov1")).status === 200),
    ).toBeDefined();
    for (const [host, name] of [
      [0, "srv1"],
      [0, "cli1"],
      [1, "srv2"],
      [1, "cli2"],
    ] as const)
      await container(host, name);
    for (const name of ["srv1", "srv2"]) {
      cleanup.track(await startEchoServers(nsOf(name), 80));
      cleanup.track(await startEchoServers(nsOf(name), 81));
      cleanup.track(await startNameServer(nsOf(name), 8080, name));
    }
    // The outside: the underlay's own namespace routes the VIP to host 1. Host 1 routes everything it has
    // no route for there, as a host has a default route: its own connections to the VIP need a route.
    await must([
      "ip",
      "-n",
      `${u.prefix}ul`,
      "route",
      "add",
      "198.51.100.0/24",
      "via",
      u.hosts[0]?.address ?? "",
    ]);
    await must(["ip", "-n", u.hosts[0]?.ns ?? "", "route", "add", "default", "via", "192.168.77.254"]);
    expect(await within(5000, () => ping(nsOf("cli2"), address["srv1"] ?? ""))).toBeDefined();
  }, 90_000);
  afterAll(() => cleanup.run());

  it("applies an endpoint's ACL to traffic from a container on another host", async () => {
    const srv1 = address["srv1"] ?? "";
    const cli2 = address["cli2"] ?? "";
    await daemonOn(0).ok("POST", "/endpoints/srv1/policies", {
      RequestType: "Add",
      Policies: [
        acl({ Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "81", Priority: 100 }),
        acl({ Action: "Allow", Direction: "In", Priority: 200 }),
      ],
    });
    expect(await askTcp(nsOf("cli2"), srv1, 80)).toBe(cli2);
    expect(await askTcp(nsOf("cli2"), srv1, 81)).toBeUndefined();
    expect(await ping(nsOf("cli2"), srv1)).toBe(true);
    const blockCli2 = acl({ Action: "Block", Direction: "In", RemoteAddresses: cli2, Priority: 50 });
    await daemonOn(0).ok("POST", "/endpoints/srv1/policies", { RequestType: "Add", Policies: [blockCli2] });
    expect(await ping(nsOf("cli2"), srv1)).toBe(false);
    expect(await askTcp(nsOf("cli2"), srv1, 80)).toBeUndefined();
    // A container of the same host is not cli2: still allowed.
    expect(await askTcp(nsOf("cli1"), srv1, 80)).toBe(address["cli1"]);
    await daemonOn(0).ok("POST", "/endpoints/srv1/policies", { RequestType: "Update", Policies: [] });
    expect(await askTcp(nsOf("cli2"), srv1, 81)).toBe(cli2);
  });

  it("limits what an endpoint sends to a container on another host with a QOS policy", async () => {
    await daemonOn(0).ok("POST", "/endpoints/srv1/policies", {
      RequestType: "Add",
      Policies: [{ Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: LIMIT } }],
    });
    const sent = await measureThroughput(nsOf("cli2"), nsOf("srv1"), address["cli2"] ?? "");
    expect(sent / LIMIT).toBeGreaterThan(0.9);
    expect(sent / LIMIT).toBeLessThan(1.1);
    await daemonOn(0).ok("POST", "/endpoints/srv1/policies", { RequestType: "Update", Policies: [] });
    const unlimited = await measureThroughput(nsOf("cli2"), nsOf("srv1"), address["cli2"] ?? "", {
      seconds: 1,
    });
    expect(unlimited).toBeGreaterThan(10 * LIMIT);
  });

  it("gives each host a source address of its own on the network, published with its bridge's MAC", async () => {
    const own = await daemonOn(0).ok<{ Operations: unknown[] }>("GET", "/plan");
    expect(own.Operations).toEqual([]);
    const remote = await daemonOn(1).ok<EndpointBody[]>("GET", "/endpoints");
    const host1 = remote.filter((e) => e.MacAddress === "0a:68:c0:a8:4d:01");
    expect(host1).toHaveLength(1);
    source = host1[0]?.IpConfigurations[0]?.IpAddress ?? "";
    expect(Object.values(address)).not.toContain(source);
    expect(source).not.toBe("10.50.0.1");
    expect(await must(inNs(u.hosts[0]?.ns ?? "", ["ip", "-4", "-o", "addr", "show"]))).toContain(
      `${source}/32`,
    );
  });

  it("balances over a backend on another host for clients outside, in a container and on the host", async () => {
    await daemonOn(0).ok("POST", "/loadbalancers", {
      Name: "web",
      HostComputeEndpoints: ["srv1", `${address["srv2"] ?? ""}@ov1`],
      FrontendVIPs: [VIP],
      PortMappings: [
        { Protocol: 6, InternalPort: 8080, ExternalPort: 80 },
        { Protocol: 6, InternalPort: 80, ExternalPort: 81 },
      ],
    });
    // The local backend sees the client; the remote one host 1's source address, which it answers.
    const peers = await askTcpMany(`${u.prefix}ul`, VIP, 81, 20);
    expect(peers).toHaveLength(20);
    expect(new Set(peers)).toEqual(new Set(["192.168.77.254", source]));
    for (const client of [`${u.prefix}ul`, nsOf("cli1"), u.hosts[0]?.ns ?? ""]) {
      const answers = await askTcpMany(client, VIP, 80, CONNECTIONS);
      expect(answers, client).toHaveLength(CONNECTIONS);
      expect(new Set(answers), client).toEqual(new Set(["srv1", "srv2"]));
    }
    expect(await daemonOn(0).ok<{ Operations: unknown[] }>("GET", "/plan")).toEqual({ Operations: [] });
  });

  it("takes the host's source address as a SourceVIP, as Windows kube-proxy gives one in overlay mode", async () => {
    await daemonOn(0).ok("POST", "/loadbalancers", {
      Name: "kube",
      HostComputeEndpoints: ["srv1", `${address["srv2"] ?? ""}@ov1`],
      FrontendVIPs: [KUBE_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
      SourceVIP: source,
    });
    const peers = await askTcpMany(`${u.prefix}ul`, KUBE_VIP, 80, 20);
    expect(peers).toEqual(Array.from({ length: 20 }, () => source));
    await daemonOn(0).ok("DELETE", "/loadbalancers/kube");
  });

  it("takes a remote backend out of the load balancer when its endpoint is deleted on its host", async () => {
    await daemonOn(1).ok("DELETE", "/endpoints/srv2");
    const backends = (): Promise<string> =>
      must(inNs(u.hosts[0]?.ns ?? "", ["nft", "list", "map", "inet", "hostnet", "lbBackends4"]));
    // The store learns of the delete from etcd first, the kernel with the converge that follows: both.
    const dropped = await within(3000, async () => {
      const lb = await daemonOn(0).ok<{ HostComputeEndpoints: string[] }>("GET", "/loadbalancers/web");
      return lb.HostComputeEndpoints.length === 1 && !(await backends()).includes(address["srv2"] ?? "?");
    });
    expect(dropped).toBeDefined();
    const answers = await askTcpMany(`${u.prefix}ul`, VIP, 80, 20);
    expect(answers).toEqual(Array.from({ length: 20 }, () => "srv1"));
    expect(await daemonOn(0).ok<{ Operations: unknown[] }>("GET", "/plan")).toEqual({ Operations: [] });
    await daemonOn(0).ok("DELETE", "/loadbalancers/web");
  });
});
