/**
 * Remote endpoints through the API on a routed overlay (Windows kube-proxy's pods of other nodes): two hosts,
 * each hostnetd with --host-address alone and its own subnet of one VXLAN, RemoteSubnetRoute policies to the
 * other. Host 1 declares host 2's pod as a remote endpoint (`Flags: 1`, ProviderAddress) and balances a VIP
 * over it and a pod of its own: clients outside, in a container of host 1 and on host 1 itself reach both
 * with real TCP, the remote pod seeing host 1's gateway. A NodePort over both with that gateway as SourceVIP,
 * as kube-proxy makes it on overlay, shows it to both. Bad requests are refused naming the field; a restarted
 * hostnetd keeps it; deleting it stops new connections to it and leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import { startEchoServers, askTcpMany, startNameServer } from "../helpers/traffic.js";

const VNI = 4096;
const VIP = "198.51.100.20";
const PEER_VIP = "198.51.100.21";
const CONNECTIONS = 40;

interface NetworkBody {
  DrMacAddress?: string;
}
interface EndpointBody {
  ID: string;
  Name: string;
  Flags: number;
  HostComputeNamespace: string | null;
  IpConfigurations: { IpAddress: string; PrefixLength?: number }[];
  MacAddress: string;
  Policies: { Type: string; Settings: unknown }[];
}
interface ErrorBody {
  error: { code: string; field?: string; message: string };
}

const subnetOf = (host: number): string => `10.244.${host + 1}.0/24`;

describe.skipIf(needsRoot)("remote endpoints through the API on a routed overlay", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const nets: NetworkBody[] = [];
  const address: Record<string, string> = {};
  let remote: EndpointBody | undefined;

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);
  const nsOf = (name: string): string => `${u.prefix}${name}`;
  const provider = (host: number): string => u.hosts[host]?.address ?? "";
  const route = (to: number): Record<string, unknown> => ({
    Type: "RemoteSubnetRoute",
    Settings: {
      DestinationPrefix: subnetOf(to),
      IsolationId: VNI,
      ProviderAddress: provider(to),
      DistributedRouterMacAddress: nets[to]?.DrMacAddress,
    },
  });
  const remoteRequest = (ip: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({
    HostComputeNetwork: "vxlan0",
    Flags: 1,
    IpConfigurations: [{ IpAddress: ip }],
    Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: provider(1) } }],
    ...more,
  });

  /** A container on `host` whose TCP port 8080 answers its name. */
  const container = async (host: number, name: string): Promise<void> => {
    await daemonOn(host).ok("POST", "/namespaces", { Name: nsOf(name) });
    const ep = await daemonOn(host).ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "vxlan0",
      HostComputeNamespace: nsOf(name),
    });
    address[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
    cleanup.track(await startEchoServers(nsOf(name), 80));
    cleanup.track(await startNameServer(nsOf(name), 8080, name));
  };

  const plan = (host: number): Promise<{ Operations: unknown[] }> =>
    daemonOn(host).ok<{ Operations: unknown[] }>("GET", "/plan");
  const refusal = async (body: Record<string, unknown>): Promise<{ status: number; body: ErrorBody }> => {
    const r = await daemonOn(0).api("POST", "/endpoints", body);
    return { status: r.status, body: r.body as ErrorBody };
  };

  beforeAll(async () => {
    u = await createUnderlay(2, { etcd: false });
    cleanup.add(() => u.destroy());
    d.push(...(await startHostDaemons(cleanup, u.hosts)));
    for (const [host] of u.hosts.entries())
      nets.push(
        await daemonOn(host).ok<NetworkBody>("POST", "/networks", {
          Name: "vxlan0",
          Type: "Overlay",
          Ipams: [{ Subnets: [{ IpAddressPrefix: subnetOf(host) }] }],
          Policies: [{ Type: "VSID", Settings: { IsolationId: VNI } }],
        }),
      );
    for (const [host, other] of [
      [0, 1],
      [1, 0],
    ] as const)
      await daemonOn(host).ok("POST", "/networks/vxlan0/policies", {
        RequestType: "Add",
        Policies: [route(other)],
      });
    await container(0, "srv");
    await container(0, "cli");
    await container(1, "pod");
    // The outside routes the VIPs to host 1, and host 1 routes what it has no route for there.
    await must(["ip", "-n", u.ns, "route", "add", "198.51.100.0/24", "via", provider(0)]);
    await must(["ip", "-n", u.hosts[0]?.ns ?? "", "route", "add", "default", "via", "192.168.77.254"]);
    expect(await within(5000, () => ping(nsOf("cli"), address["pod"] ?? ""))).toBeDefined();
  }, 90_000);
  afterAll(() => cleanup.run());

  it("declares host 2's pod on host 1 as kube-proxy does: Flags 1, its host's ProviderAddress, no name, no namespace", async () => {
    const pod = address["pod"] ?? "";
    const r = await daemonOn(0).api(
      "POST",
      "/endpoints",
      remoteRequest(pod, { MacAddress: "02-11-0a-f4-02-02", SchemaVersion: { Major: 2, Minor: 0 } }),
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    remote = r.body as EndpointBody;
    expect(remote).toMatchObject({
      Name: `${pod}@vxlan0`,
      Flags: 1,
      HostComputeNamespace: null,
      IpConfigurations: [{ IpAddress: pod, PrefixLength: 24 }],
      MacAddress: "02:11:0a:f4:02:02",
      Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: provider(1) } }],
    });
    const listed = await daemonOn(0).ok<EndpointBody[]>("GET", "/endpoints");
    expect(listed.filter((e) => e.Flags === 1).map((e) => e.Name)).toEqual([`${pod}@vxlan0`]);
    expect(listed.find((e) => e.Name === "srv")?.Flags).toBe(0);
    expect(await plan(0)).toEqual({ Operations: [] });
  });

  it("refuses a remote endpoint it cannot route, naming the field, and never attaches one", async () => {
    const count = (await daemonOn(0).ok<EndpointBody[]>("GET", "/endpoints")).length;
    for (const [body, status, field] of [
      [remoteRequest("10.244.1.50"), 400, "IpConfigurations[0].IpAddress"],
      [remoteRequest("10.99.0.5"), 400, "IpConfigurations[0].IpAddress"],
      [remoteRequest("10.244.2.77", { HostComputeNamespace: nsOf("cli") }), 400, "HostComputeNamespace"],
      [
        remoteRequest("10.244.2.77", {
          Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: "192.168.77.9" } }],
        }),
        400,
        "Policies[0].Settings.ProviderAddress",
      ],
      [remoteRequest("10.244.2.77", { Flags: 2 }), 400, "Flags"],
      [remoteRequest(address["pod"] ?? ""), 409, "IpConfigurations[0].IpAddress"],
    ] as const) {
      const r = await refusal(body);
      expect(r.status, JSON.stringify([body, r.body])).toBe(status);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
    }
    expect(await daemonOn(0).ok<EndpointBody[]>("GET", "/endpoints")).toHaveLength(count);
    const attach = await daemonOn(0).api("POST", `/endpoints/${remote?.ID ?? ""}/attach`, {
      HostComputeNamespace: nsOf("cli"),
      InterfaceName: "eth1",
    });
    expect(attach.status).toBe(409);
    expect((attach.body as ErrorBody).error.message).toMatch(/on another host/);
    // The route it is reached by stays while it is there.
    const unroute = await daemonOn(0).api("POST", "/networks/vxlan0/policies", {
      RequestType: "Remove",
      Policies: [route(1)],
    });
    expect(unroute.status).toBe(409);
    expect(await plan(0)).toEqual({ Operations: [] });
  });

  it("balances a VIP over it and a local pod for clients outside, in a container and on the host", async () => {
    await daemonOn(0).ok("POST", "/loadbalancers", {
      Name: "web",
      HostComputeEndpoints: ["srv", remote?.ID ?? ""],
      FrontendVIPs: [VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    await daemonOn(0).ok("POST", "/loadbalancers", {
      Name: "peer",
      HostComputeEndpoints: [remote?.ID ?? ""],
      FrontendVIPs: [PEER_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
    });
    for (const client of [u.ns, nsOf("cli"), u.hosts[0]?.ns ?? ""]) {
      const answers = await askTcpMany(client, VIP, 80, CONNECTIONS);
      expect(answers, client).toHaveLength(CONNECTIONS);
      expect(new Set(answers), client).toEqual(new Set(["srv", "pod"]));
      // The pod on host 2 sees host 1's gateway, which host 2 routes back over the VXLAN.
      expect(await askTcpMany(client, PEER_VIP, 80, 3), client).toEqual([
        "10.244.1.1",
        "10.244.1.1",
        "10.244.1.1",
      ]);
    }
    expect(await plan(0)).toEqual({ Operations: [] });
  });

  it("serves a NodePort over it and a local pod with kube-proxy's SourceVIP, the routed overlay's gateway", async () => {
    const gateway = "10.244.1.1";
    const nodePort = (name: string, port: number, internal: number) =>
      daemonOn(0).ok("POST", "/loadbalancers", {
        Name: name,
        HostComputeEndpoints: ["srv", remote?.ID ?? ""],
        FrontendVIPs: [],
        PortMappings: [{ Protocol: 6, InternalPort: internal, ExternalPort: port, Flags: 2 | 16 }],
        SourceVIP: gateway,
      });
    await nodePort("np-names", 30080, 8080);
    await nodePort("np-peers", 30081, 80);
    // From outside, from a container of this host and from the host itself (LocalRoutedVIP).
    for (const client of [u.ns, nsOf("cli"), u.hosts[0]?.ns ?? ""]) {
      const answers = await askTcpMany(client, provider(0), 30080, CONNECTIONS);
      expect(new Set(answers), client).toEqual(new Set(["srv", "pod"]));
      // The local pod sees the SourceVIP instead of the client; the remote one this host's gateway, the same.
      expect(new Set(await askTcpMany(client, provider(0), 30081, 20)), client).toEqual(new Set([gateway]));
    }
    expect(await plan(0)).toEqual({ Operations: [] });
    for (const name of ["np-names", "np-peers"]) await daemonOn(0).ok("DELETE", `/loadbalancers/${name}`);
    const nft = await must(inNs(u.hosts[0]?.ns ?? "", ["nft", "list", "table", "inet", "hostnet"]));
    expect(nft).not.toContain("30080");
    expect(await plan(0)).toEqual({ Operations: [] });
  });

  it("keeps it across a restart of hostnetd, converged", async () => {
    await daemonOn(0).kill("SIGKILL");
    await daemonOn(0).restart();
    const kept = await daemonOn(0).ok<EndpointBody>("GET", `/endpoints/${remote?.ID ?? ""}`);
    expect(kept).toMatchObject({ Flags: 1, IpConfigurations: [{ IpAddress: address["pod"] }] });
    expect(await plan(0)).toEqual({ Operations: [] });
    expect(await askTcpMany(u.ns, PEER_VIP, 80, 3)).toEqual(["10.244.1.1", "10.244.1.1", "10.244.1.1"]);
  });

  it("stops new connections to it once it is deleted, and leaves nothing behind", async () => {
    await daemonOn(0).ok("DELETE", `/endpoints/${remote?.ID ?? ""}`);
    const web = await daemonOn(0).ok<{ HostComputeEndpoints: string[] }>("GET", "/loadbalancers/web");
    expect(web.HostComputeEndpoints).toHaveLength(1);
    expect(await askTcpMany(u.ns, VIP, 80, 20)).toEqual(Array.from({ length: 20 }, () => "srv"));
    expect(await askTcpMany(u.ns, PEER_VIP, 80, 2)).toEqual([]);
    const sets = await must(inNs(u.hosts[0]?.ns ?? "", ["nft", "list", "table", "inet", "hostnet"]));
    expect(sets).not.toContain(address["pod"] ?? "?");
    expect(await plan(0)).toEqual({ Operations: [] });
    // Its route may go now.
    await daemonOn(0).ok("POST", "/networks/vxlan0/policies", {
      RequestType: "Remove",
      Policies: [route(1)],
    });
    expect(await plan(0)).toEqual({ Operations: [] });
  });
});
