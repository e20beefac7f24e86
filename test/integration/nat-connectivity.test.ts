import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { ping, type Topology } from "../helpers/topology.js";
import { inNs, must } from "../helpers/run.js";
import { askTcp, askUdp, startEchoServers, startHostServer } from "../helpers/traffic.js";

describe.skipIf(needsRoot)("NAT network: connectivity, masquerade and port mappings", () => {
  const lab = useLab();
  const { cleanup } = lab;
  let t: Topology;
  let d: TestDaemon;
  const ips: Record<string, { v4: string; v6: string }> = {};

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("n1", ["10.88.0.0/24", "fd88::/64"]);
    for (const c of ["c1", "c2"]) {
      const ep = await lab.container(c, "n1", {
        Policies:
          c === "c1"
            ? [
                { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8080 } },
                { Type: "PortMapping", Settings: { Protocol: "UDP", InternalPort: 80, ExternalPort: 8080 } },
                {
                  Type: "PortMapping",
                  Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 9090, VIP: t.hostIp4 },
                },
              ]
            : [],
      });
      const [v4, v6] = ep.IpConfigurations.map((c) => c.IpAddress);
      ips[c] = { v4: v4 ?? "", v6: v6 ?? "" };
    }
    cleanup.track(await startEchoServers(t.ns("c1"), 80));
    cleanup.track(await startEchoServers(t.ext, 7000));
  });

  it("gives each endpoint one address of each family", () => {
    expect(ips["c1"]?.v4).toMatch(/^10\.88\.0\.\d+$/);
    expect(ips["c1"]?.v6).toMatch(/^fd88::/);
  });

  it("lets endpoints of one network reach each other over IPv4 and IPv6", async () => {
    expect(await ping(t.ns("c1"), ips["c2"]?.v4 ?? "")).toBe(true);
    expect(await ping(t.ns("c2"), ips["c1"]?.v6 ?? "")).toBe(true);
  });

  it("masquerades containers behind the host's address towards the outside", async () => {
    expect(await askTcp(t.ns("c2"), t.extIp4, 7000)).toBe(t.hostIp4);
    expect(await askTcp(t.ns("c2"), t.extIp6, 7000)).toBe(t.hostIp6);
    expect(await askUdp(t.ns("c2"), t.extIp4, 7000)).toBe(t.hostIp4);
  });

  it("publishes TCP and UDP ports to the outside, showing the real client address", async () => {
    expect(await askTcp(t.ext, t.hostIp4, 8080)).toBe(t.extIp4);
    expect(await askUdp(t.ext, t.hostIp4, 8080)).toBe(t.extIp4);
    expect(await askTcp(t.ext, t.hostIp6, 8080)).toBe(t.extIp6);
    expect(await askUdp(t.ext, t.hostIp6, 8080)).toBe(t.extIp6);
  });

  it("publishes ports to the host itself, on its own addresses and on localhost", async () => {
    expect(await askTcp(t.host, t.hostIp4, 8080)).toBeDefined();
    expect(await askTcp(t.host, "127.0.0.1", 8080)).toBeDefined();
    expect(await askTcp(t.host, "::1", 8080)).toBeDefined();
    expect(await askUdp(t.host, "127.0.0.1", 8080)).toBeDefined();
    expect(await askUdp(t.host, "::1", 8080)).toBeDefined();
  });

  it("hairpins: containers reach published ports through the host, including their own", async () => {
    expect(await askTcp(t.ns("c2"), t.hostIp4, 8080)).toBeDefined();
    expect(await askTcp(t.ns("c1"), t.hostIp4, 8080)).toBeDefined();
    expect(await askTcp(t.ns("c2"), "10.88.0.1", 8080)).toBeDefined();
    expect(await askTcp(t.ns("c2"), t.hostIp6, 8080)).toBeDefined();
  });

  it("answers a mapping bound to one host address only on that address", async () => {
    expect(await askTcp(t.ext, t.hostIp4, 9090)).toBe(t.extIp4);
    expect(await askTcp(t.host, "127.0.0.1", 9090)).toBeUndefined();
    expect(await askTcp(t.ns("c2"), "10.88.0.1", 9090)).toBeUndefined();
  });

  it("does not expose the host's loopback to containers despite route_localnet on the bridge", async () => {
    // The container forges packets to 127.0.0.1 through its gateway by rewriting addresses on its own
    // interface (CVE-2020-8558); a control mapping to a non-loopback port proves the forgery works.
    cleanup.track(await startHostServer(t.host, "127.0.0.1", 9999));
    cleanup.track(await startHostServer(t.host, "0.0.0.0", 9998));
    const attack = [
      "table netdev attack {",
      '  chain out { type filter hook egress device "eth0" priority 0;',
      "    ip daddr 10.88.0.1 tcp dport 9999 ip daddr set 127.0.0.1",
      "    ip daddr 10.88.0.1 tcp dport 9998 ip daddr set 192.0.2.1",
      "  }",
      '  chain in { type filter hook ingress device "eth0" priority 0;',
      "    ip saddr { 127.0.0.1, 192.0.2.1 } tcp sport { 9998, 9999 } ip saddr set 10.88.0.1",
      "  }",
      "}",
    ].join("\n");
    await must(inNs(t.ns("c2"), ["nft", "-f", "-"]), { input: attack });
    expect(await askTcp(t.ns("c2"), "10.88.0.1", 9998)).toBeDefined();
    expect(await askTcp(t.ns("c2"), "10.88.0.1", 9999)).toBeUndefined();
  });

  it("keeps containers unreachable from outside except through port mappings", async () => {
    await d.ok("GET", "/networks");
    const r = await askTcp(t.ext, ips["c1"]?.v4 ?? "", 80);
    expect(r).toBeUndefined();
  });
});
