import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { inNs, must } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";
import { askTcp, askUdp, startBoundUdpServer, startEchoServers } from "../helpers/traffic.js";

/** The interface of the namespace's default route, per family, as the kernel picks it. */
async function defaultDev(ns: string, family: 4 | 6): Promise<string | undefined> {
  const out = await must(
    inNs(ns, ["ip", "-j", `-${family}`, "route", "get", family === 4 ? "192.0.2.2" : "2001:db8:1::2"]),
  );
  return (JSON.parse(out) as { dev?: string }[])[0]?.dev;
}

/** A UDP client retries as resolvers do: a datagram may come before a server just started is bound. */
async function askUdpRetrying(ns: string, address: string, port: number): Promise<string | undefined> {
  for (let i = 0; i < 3; i++) {
    const answer = await askUdp(ns, address, port);
    if (answer !== undefined) return answer;
  }
  return undefined;
}

const mapping = (port: number) => ({
  Policies: [
    { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: port } },
    { Type: "PortMapping", Settings: { Protocol: "UDP", InternalPort: 53, ExternalPort: port } },
  ],
});

describe.skipIf(needsRoot)("a namespace with endpoints on two NAT networks", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  let ns = "";

  /** An endpoint attached to the namespace, with UDP servers bound to its addresses. */
  async function attach(name: string, network: string, ifname: string, extra: Record<string, unknown>) {
    const ep = await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: network,
      HostComputeNamespace: ns,
      InterfaceName: ifname,
      ...extra,
    });
    for (const c of ep.IpConfigurations) lab.cleanup.track(await startBoundUdpServer(ns, c.IpAddress, 53));
  }

  /**
   * Both published ports answer, over IPv4 and IPv6, showing the real client address: TCP from the servers on
   * every address, UDP from those bound to the endpoints' addresses (a wildcard one answers by the default route).
   */
  async function expectBothPublished(ports: readonly number[]): Promise<void> {
    for (const port of ports) {
      expect(await askTcp(t.ext, t.hostIp4, port), `TCP ${port}`).toBe(t.extIp4);
      expect(await askUdpRetrying(t.ext, t.hostIp4, port), `UDP ${port}`).toBe(t.extIp4);
      expect(await askTcp(t.ext, t.hostIp6, port), `TCP6 ${port}`).toBe(t.extIp6);
      expect(await askUdpRetrying(t.ext, t.hostIp6, port), `UDP6 ${port}`).toBe(t.extIp6);
    }
  }

  beforeAll(async () => {
    ({ t, d } = lab);
    ns = t.ns("multi");
    await lab.network("n1", ["10.61.0.0/24", "fd61::/64"]);
    await lab.network("n2", ["10.62.0.0/24", "fd62::/64"]);
    await d.ok("POST", "/namespaces", { Name: ns });
    // Attached first, though its name and interface name sort last: the choice is by attach order.
    await attach("zz-first", "n2", "eth1", mapping(8082));
    await attach("aa-second", "n1", "eth0", mapping(8081));
    lab.cleanup.track(await startEchoServers(ns, 80));
  });

  it("gives the default route to the endpoint attached first", async () => {
    expect(await defaultDev(ns, 4)).toBe("eth1");
    expect(await defaultDev(ns, 6)).toBe("eth1");
  });

  it("answers each published port through the endpoint the request came in on", async () => {
    await expectBothPublished([8081, 8082]);
    expect(await lab.plan()).toEqual([]);
  });

  it("keeps the same choice across a restart of hostnetd", async () => {
    await d.kill("SIGKILL");
    await d.restart();
    expect(await lab.plan()).toEqual([]);
    expect(await defaultDev(ns, 4)).toBe("eth1");
    await expectBothPublished([8081, 8082]);
  });

  it("hands the default route to the other endpoint when its holder is deleted", async () => {
    await d.ok("DELETE", "/endpoints/zz-first");
    expect(await defaultDev(ns, 4)).toBe("eth0");
    expect(await defaultDev(ns, 6)).toBe("eth0");
    expect(await ping(ns, t.extIp4)).toBe(true);
    await expectBothPublished([8081]);
    expect(await lab.plan()).toEqual([]);
  });

  it("gives the default route to an endpoint of higher GwPriority, attached later", async () => {
    await attach("preferred", "n2", "eth2", { GwPriority: 1, ...mapping(8083) });
    expect(await defaultDev(ns, 4)).toBe("eth2");
    await expectBothPublished([8081, 8083]);
    await d.kill("SIGTERM");
    await d.restart();
    expect(await defaultDev(ns, 4)).toBe("eth2");
    expect(await lab.plan()).toEqual([]);
  });

  it("refuses a GwPriority out of range, naming the field", async () => {
    const res = await d.api("POST", "/endpoints", {
      Name: "too-high",
      HostComputeNetwork: "n1",
      GwPriority: 1000,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("GwPriority");
  });

  it("removes its rules and tables from the namespace with the endpoints", async () => {
    await d.ok("DELETE", "/endpoints/aa-second");
    await d.ok("DELETE", "/endpoints/preferred");
    expect(await must(inNs(ns, ["ip", "-4", "rule", "show"]))).not.toMatch(/^3200[01]:/m);
    expect(await must(inNs(ns, ["ip", "-6", "rule", "show"]))).not.toMatch(/^3200[01]:/m);
    expect(await must(inNs(ns, ["ip", "route", "show", "table", "all"]))).not.toMatch(/table 10/);
    expect(await lab.plan()).toEqual([]);
  });
});
