import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { link, nftElements, nftTables, qdiscs, routes } from "../helpers/kernel-state.js";
import { within } from "../helpers/poll.js";
import { inNs, must } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";
import { askTcp, measureThroughput, startEchoServers } from "../helpers/traffic.js";

/**
 * What a repair is given, from the removal to the kernel's JSON showing the object again. The target is 2 s
 * (141–292 ms measured on a quiet machine, printed by this file); a test asserts that repairs happen, not how
 * fast under the suite's own load, which once took one 2.1 s.
 */
const REPAIR_MS = 10_000;
/** c2's QOS limit in bytes per second. */
const LIMIT = 1_000_000;

/** hostnetd's objects and objects it does not own, as the kernel shows them (for "never touched"). */
async function foreignState(host: string): Promise<string> {
  const links = await Promise.all(
    ["br-foreign", "vf-a", "vf-b"].map((dev) =>
      must(["ip", "-n", host, "-j", "-d", "addr", "show", "dev", dev]),
    ),
  );
  const table = await must(inNs(host, ["nft", "-j", "list", "table", "inet", "foreign"]));
  // Counters and timers move on their own; what hostnet could change is the rest.
  return [...links, table].join("\n").replace(/"(\w+_timer|(tx|rx)_\w+)":[\d.]+,?/g, "");
}

describe.skipIf(needsRoot)("continuous convergence: drift repaired by itself", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  let bridge = "";
  let foreignBefore = "";
  const eps: Record<string, EndpointBody> = {};
  const ip4 = (name: string): string => eps[name]?.IpConfigurations[0]?.IpAddress ?? "";
  const veth = (name: string): string => eps[name]?.HostInterfaceName ?? "";
  /** How long each repair took, printed at the end. */
  const measured: [string, number][] = [];

  /** Waits for the kernel to show `repaired`, records how long that took and fails past REPAIR_MS. */
  async function expectRepaired(what: string, repaired: () => Promise<boolean>): Promise<void> {
    const ms = await within(REPAIR_MS, repaired, 20);
    expect(ms, `${what} was not repaired within ${REPAIR_MS} ms:\n${d.logs().slice(-3000)}`).toBeDefined();
    measured.push([what, Math.round(ms ?? 0)]);
  }

  const portmapWorks = async (port = 8091): Promise<boolean> =>
    (await askTcp(t.ext, t.hostIp4, port)) === t.extIp4;

  beforeAll(async () => {
    ({ t, d } = lab);
    bridge = (await lab.network("n1", ["10.71.0.0/24"])).Bridge;
    eps["c1"] = await lab.container("c1", "n1", {
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8091 } },
      ],
    });
    eps["c2"] = await lab.container("c2", "n1", {
      Policies: [
        {
          Type: "QOS",
          Settings: { MaximumIncomingBandwidthInBytes: LIMIT, MaximumOutgoingBandwidthInBytes: LIMIT },
        },
      ],
    });
    lab.cleanup.track(await startEchoServers(t.ns("c1"), 80));
    // Objects hostnet does not own, present throughout: no repair may touch them.
    const foreign = [
      "link add br-foreign type bridge",
      "addr add 198.51.100.1/24 dev br-foreign",
      "link add vf-a type veth peer name vf-b",
      "link set vf-a master br-foreign",
      "link set br-foreign up",
    ];
    await must(["ip", "-n", t.host, "-batch", "-"], { input: `${foreign.join("\n")}\n` });
    await must(inNs(t.host, ["nft", "-f", "-"]), {
      input:
        "table inet foreign {\n set allowed { type ipv4_addr; elements = { 198.51.100.7 } }\n" +
        " chain input { type filter hook input priority 10; ip saddr @allowed accept; }\n}\n",
    });
    foreignBefore = await foreignState(t.host);
  });

  afterAll(() => {
    process.stdout.write(`drift repaired in (ms): ${JSON.stringify(Object.fromEntries(measured))}\n`);
  });

  it("a deleted host veth: the endpoint's veth, container end, addresses and routes", async () => {
    await must(["ip", "-n", t.host, "link", "del", veth("c1")]);
    await expectRepaired("deleted host veth", async () => {
      const inside = await link(t.ns("c1"), "eth0");
      const hostEnd = await link(t.host, veth("c1"));
      const route = (await routes(t.ns("c1"))).some((r) => r.dst === "default");
      return (
        hostEnd?.master === bridge && inside?.addr_info.some((a) => a.local === ip4("c1")) === true && route
      );
    });
    expect(await portmapWorks()).toBe(true);
    expect(await ping(t.ns("c1"), t.extIp4)).toBe(true);
    // One line for the repair, with its cause and what it made.
    const line = d
      .logs()
      .split("\n")
      .find((l) => l.includes('"op":"repair"') && l.includes(`link ${veth("c1")} deleted`));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      repaired: expect.arrayContaining([
        {
          action: "create",
          kind: "veth",
          identity: `link:${veth("c1")}`,
          owner: `ep:${eps["c1"]?.ID ?? ""}`,
        },
      ]) as unknown,
    });
  });

  it("a deleted bridge: the bridge, its address, and its ports enslaved again", async () => {
    await must(["ip", "-n", t.host, "link", "del", bridge]);
    await expectRepaired("deleted bridge", async () => {
      const br = await link(t.host, bridge);
      const ports = await Promise.all(["c1", "c2"].map((c) => link(t.host, veth(c))));
      return (
        br?.addr_info.some((a) => a.local === "10.71.0.1") === true &&
        ports.every((p) => p?.master === bridge)
      );
    });
    expect(await ping(t.ns("c1"), ip4("c2"))).toBe(true);
    expect(await ping(t.ns("c1"), t.extIp4)).toBe(true);
  });

  it("a removed gateway address", async () => {
    await must(["ip", "-n", t.host, "addr", "del", "10.71.0.1/24", "dev", bridge]);
    await expectRepaired("removed gateway address", async () =>
      ((await link(t.host, bridge))?.addr_info ?? []).some((a) => a.local === "10.71.0.1"),
    );
    expect(await ping(t.ns("c1"), t.extIp4)).toBe(true);
  });

  it("a removed container route", async () => {
    await must(["ip", "-n", t.ns("c1"), "route", "del", "default"]);
    await expectRepaired("removed container route", async () =>
      (await routes(t.ns("c1"))).some((r) => r.dst === "default" && r.gateway === "10.71.0.1"),
    );
    expect(await ping(t.ns("c1"), t.extIp4)).toBe(true);
  });

  it("a removed routing rule and reply route of an endpoint, repaired from the monitors' report", async () => {
    const ns = t.ns("c1");
    const rules = async (): Promise<string> => must(["ip", "-n", ns, "-4", "rule", "show"]);
    const replyRoutes = async (): Promise<string> =>
      (await must(["ip", "-n", ns, "-4", "route", "show", "table", "all"]))
        .split("\n")
        .filter((l) => / table \d+/.test(l))
        .join("\n");
    const [rulesBefore, routesBefore] = [await rules(), await replyRoutes()];
    const table = /^32001:\s+from \S+ lookup (\d+)/m.exec(rulesBefore)?.[1] ?? "";
    expect(table).not.toBe("");
    await must(["ip", "-n", ns, "rule", "del", "priority", "32001"]);
    await must(["ip", "-n", ns, "route", "del", "default", "table", table]);
    await expectRepaired(
      "removed routing rule and reply route",
      async () => (await rules()) === rulesBefore && (await replyRoutes()) === routesBefore,
    );
    // The monitors reported them: the periodic check (every 30 s) would say "periodic check".
    const logged = (what: string): boolean =>
      d
        .logs()
        .split("\n")
        .some((l) => l.includes('"op":"repair"') && l.includes(what));
    expect(logged(`rule 32001 from ${ip4("c1")} lookup ${table} removed in`)).toBe(true);
    expect(logged(`of table ${table} removed in`)).toBe(true);
  });

  it("a removed qdisc of a QOS endpoint", async () => {
    await must(inNs(t.host, ["tc", "qdisc", "del", "dev", veth("c2"), "root"]));
    await expectRepaired("removed qdisc", async () =>
      (await qdiscs(t.host, veth("c2"))).some((q) => q.kind === "tbf" && q.root === true),
    );
    const received = await measureThroughput(t.ns("c2"), t.ns("c1"), ip4("c2"), { seconds: 1 });
    expect(received / LIMIT).toBeLessThan(1.1);
    expect(received / LIMIT).toBeGreaterThan(0.5);
  });

  it("a deleted hostnet table", async () => {
    const elements = await nftElements(t.host);
    await must(inNs(t.host, ["nft", "delete", "table", "inet", "hostnet"]));
    await expectRepaired("nft delete table inet hostnet", async () =>
      sameMembers(await nftElements(t.host), elements),
    );
    expect(await portmapWorks()).toBe(true);
  });

  it("a hostnet table flushed of its rules", async () => {
    await must(inNs(t.host, ["nft", "flush", "table", "inet", "hostnet"]));
    await expectRepaired("nft flush table inet hostnet", async () =>
      (await must(inNs(t.host, ["nft", "list", "chain", "inet", "hostnet", "portmap"]))).includes("dnat"),
    );
    expect(await portmapWorks()).toBe(true);
  });

  it("left the bridge, veth and nft table it does not own as they were through these repairs", async () => {
    expect(await foreignState(t.host)).toBe(foreignBefore);
    expect(await lab.plan()).toEqual([]);
  });

  it("nft flush ruleset: both of hostnet's tables and their elements", async () => {
    const elements = await nftElements(t.host);
    await must(inNs(t.host, ["nft", "flush", "ruleset"]));
    const both = ["table bridge hostnet", "table inet hostnet"];
    // The monitors may report the two tables' removal apart, and each report gets a repair of its own.
    await expectRepaired(
      "nft flush ruleset",
      async () =>
        sameMembers(await nftElements(t.host), elements) && sameMembers(await nftTables(t.host), both),
    );
    expect(await portmapWorks()).toBe(true);
  });

  it("writes heal: an endpoint with a port mapping right after nft flush ruleset", async () => {
    await d.ok("POST", "/namespaces", { Name: t.ns("c3") });
    await must(inNs(t.host, ["nft", "flush", "ruleset"]));
    const res = await d.api("POST", "/endpoints", {
      Name: "c3",
      HostComputeNetwork: "n1",
      HostComputeNamespace: t.ns("c3"),
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8093 } },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    lab.cleanup.track(await startEchoServers(t.ns("c3"), 80));
    expect(await portmapWorks(8093)).toBe(true);
    expect(await portmapWorks()).toBe(true);
    expect(await lab.plan()).toEqual([]);
  });
});

const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
