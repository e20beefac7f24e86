import Database from "better-sqlite3";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { startDaemon, type TestDaemon } from "../helpers/daemon.js";
import { linkNames, nftElements, nftTables } from "../helpers/kernel-state.js";
import { inNs, must } from "../helpers/run.js";
import { createTopology, ping, type Topology } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

describe.skipIf(needsRoot)("kill -9 and restart: hostnetd converges to its store", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  const eps: Record<string, EndpointBody> = {};
  let bridgeOfN2 = "";
  let idOfN2 = "";

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("n1", ["10.55.0.0/24"]);
    const n2 = await lab.network("n2", ["10.56.0.0/24"]);
    bridgeOfN2 = n2.Bridge;
    idOfN2 = n2.ID;
    for (const [c, port] of [
      ["c1", 8081],
      ["c2", 8082],
    ] as const) {
      eps[c] = await lab.container(c, "n1", {
        Policies: [
          { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: port } },
        ],
      });
    }
    lab.cleanup.track(await startEchoServers(t.ns("c1"), 80));
    // Objects hostnet does not own, which no converge may touch.
    await must(["ip", "-n", t.host, "link", "add", "br-foreign", "type", "bridge"]);
    await must(["ip", "-n", t.host, "link", "add", "vf-a", "type", "veth", "peer", "name", "vf-b"]);
    await must(inNs(t.host, ["nft", "add", "table", "inet", "foreign"]));
  });

  it("keeps containers working, duplicates nothing and removes what the store lost while it was down", async () => {
    const nftBefore = await nftElements(t.host);
    await d.kill("SIGKILL");

    // While hostnetd is down, c2, its namespace and network n2 disappear from the store.
    const db = new Database(join(d.stateDir, "hostnet.db"));
    db.pragma("foreign_keys = ON");
    db.prepare("DELETE FROM endpoints WHERE name = 'c2'").run();
    db.prepare("DELETE FROM networks WHERE name = 'n2'").run();
    db.prepare("DELETE FROM namespaces WHERE name = ?").run(t.ns("c2"));
    db.close();

    // Traffic keeps flowing with hostnetd dead: the kernel holds the state.
    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);

    await d.restart();

    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
    expect(await ping(t.ns("c1"), t.extIp4)).toBe(true);

    const links = await linkNames(t.host);
    expect(links).toContain(eps["c1"]?.HostInterfaceName);
    expect(links).not.toContain(eps["c2"]?.HostInterfaceName);
    expect(links).not.toContain(bridgeOfN2);
    expect(links).toEqual(expect.arrayContaining(["br-foreign", "vf-a", "vf-b"]));
    expect(existsSync(`/run/netns/${t.ns("c2")}`)).toBe(false);
    expect(existsSync(`/run/netns/${t.ns("c1")}`)).toBe(true);
    expect(await nftTables(t.host)).toEqual(
      expect.arrayContaining(["table inet foreign", "table inet hostnet"]),
    );

    const nftAfter = await nftElements(t.host);
    const c2 = eps["c2"]?.ID ?? "";
    expect(nftAfter).toEqual(nftBefore.filter((e) => !e.includes(c2) && !e.includes(idOfN2)));
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });

  it("repairs kernel objects removed behind its back at the next start", async () => {
    await d.kill("SIGTERM");
    await must(["ip", "-n", t.host, "link", "del", eps["c1"]?.HostInterfaceName ?? ""]);
    await must(inNs(t.host, ["nft", "delete", "table", "inet", "hostnet"]));
    await d.restart();
    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });

  it("starts and serves the rest when an adopted namespace vanished while it was down", async () => {
    const adopted = t.ns("adopted");
    await must(["ip", "netns", "add", adopted]);
    await d.ok("POST", "/namespaces", { Name: "adopted", Path: `/run/netns/${adopted}` });
    await d.ok("POST", "/endpoints", {
      Name: "lost",
      HostComputeNetwork: "n1",
      HostComputeNamespace: "adopted",
    });
    await d.kill("SIGKILL");
    await must(["ip", "netns", "del", adopted]);
    await d.restart();
    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
    await d.ok("DELETE", "/endpoints/lost");
    await d.ok("DELETE", "/namespaces/adopted");
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });

  it("marks a namespace it made but died before marking (two processes), keeping what is in it", async () => {
    const name = t.ns("unmarked");
    await d.ok("POST", "/namespaces", { Name: name });
    const ep = await d.ok<EndpointBody>("POST", "/endpoints", {
      Name: "in-unmarked",
      HostComputeNetwork: "n1",
      HostComputeNamespace: name,
    });
    const lo = async (): Promise<{ ifalias?: string; ifindex: number }> => {
      const links = JSON.parse(await must(inNs(name, ["ip", "-j", "link", "show", "dev", "lo"]))) as {
        ifalias?: string;
        ifindex: number;
      }[];
      return links[0] ?? { ifindex: -1 };
    };
    const mark = (await lo()).ifalias;
    expect(mark).toMatch(/^hostnet:ns:/);
    await d.kill("SIGKILL");
    // What `ip netns add` leaves before the next process marks lo.
    await must(inNs(name, ["ip", "link", "set", "dev", "lo", "alias", ""]));
    expect((await lo()).ifalias ?? "").toBe("");
    const inode = statSync(`/run/netns/${name}`).ino;
    await d.restart();
    expect((await lo()).ifalias).toBe(mark);
    // The same namespace, not one made again: the container's interface and address are still in it.
    expect(statSync(`/run/netns/${name}`).ino).toBe(inode);
    expect(await must(inNs(name, ["ip", "-br", "addr", "show", "dev", "eth0"]))).toContain(
      ep.IpConfigurations[0]?.IpAddress ?? "none",
    );
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
    await d.ok("DELETE", "/endpoints/in-unmarked");
    await d.ok("DELETE", `/namespaces/${name}`);
  });

  it("leaves the namespaces of another hostnetd on the machine alone", async () => {
    const other = await createTopology();
    lab.cleanup.add(() => other.destroy());
    const d2 = await startDaemon(other.host, ["--no-default-network"]);
    lab.cleanup.add(() => d2.stop());
    await d2.ok("POST", "/namespaces", { Name: other.ns("theirs") });
    await d.kill("SIGTERM");
    await d.restart();
    expect(existsSync(`/run/netns/${other.ns("theirs")}`)).toBe(true);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
    await d2.ok("DELETE", `/namespaces/${other.ns("theirs")}`);
    expect(existsSync(`/run/netns/${other.ns("theirs")}`)).toBe(false);
  });
});
