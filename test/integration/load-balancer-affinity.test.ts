/**
 * Source-IP affinity with real TCP, IPv4 and IPv6, each load balancer with its own timeout: clients are
 * told apart by source addresses the external namespace gets for the test, and each backend answers with
 * its own name. Affinity is kept in chains and sets of the load balancer's own (modes/load-balancer.ts),
 * which a change, a delete and a restart after kill -9 leave exactly as the store says.
 */
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";

const VIP6 = "2001:db8:100::20";
const VIP4 = "198.51.100.20";
const SHORT_VIP4 = "198.51.100.21";
const BACKENDS = ["b1", "b2", "b3"] as const;
/** Source addresses of the clients, on the external namespace's link to the host. */
const CLIENTS6 = Array.from({ length: 12 }, (_, i) => `2001:db8:1::1${String(i).padStart(2, "0")}`);
const CLIENTS4 = Array.from({ length: 4 }, (_, i) => `192.0.2.${String(100 + i)}`);

describe.skipIf(needsRoot)("load balancers with source-IP affinity", () => {
  const lab = useLab({ daemonArgs: ["--no-default-network"] });
  const ids: Record<string, string> = {};

  /** Answers of `count` connections to `vip`:80 from the external namespace, from `source`. */
  async function ask(vip: string, source: string, count: number): Promise<string[]> {
    const v6 = vip.includes(":");
    const to = v6 ? `TCP6:[${vip}]:80,bind=[${source}]` : `TCP4:${vip}:80,bind=${source}`;
    // Generous timeouts: a connection lost to a loaded machine is not what these tests ask about.
    const script = `i=0; while [ $i -lt ${count} ]; do socat -T 5 - ${to},connect-timeout=5 </dev/null; i=$((i+1)); done`;
    const r = await run(inNs(lab.t.ext, ["sh", "-c", script]), { timeoutMs: 120_000 });
    return r.stdout.split("\n").filter((l) => l !== "");
  }

  /** The one backend all of a client's `count` connections went to, or a failure naming them. */
  async function pinned(vip: string, source: string, count = 6): Promise<string> {
    const answers = await ask(vip, source, count);
    expect(answers, source).toHaveLength(count);
    expect(new Set(answers), `${source}: ${answers.join(",")}`).toEqual(new Set([answers[0]]));
    return answers[0] ?? "";
  }

  /** hostnet's own chains and sets in the inet table: the names that hold a load balancer's id. */
  async function ownNftObjects(): Promise<string[]> {
    const listed = await must(inNs(lab.t.host, ["nft", "list", "table", "inet", "hostnet"]));
    return [...listed.matchAll(/^\t(?:set|chain) (lb_[0-9a-f-]{36}_\S+) \{/gm)].map((m) => m[1] ?? "");
  }

  beforeAll(async () => {
    const t = lab.t;
    await lab.network("n", ["10.41.0.0/24", "fd41::/64"]);
    for (const name of BACKENDS) ids[name] = (await lab.container(name, "n")).ID;
    for (const name of BACKENDS)
      for (const listen of [
        "TCP4-LISTEN:8080,fork,reuseaddr",
        "TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=1",
      ]) {
        const server = spawn(
          "nsenter",
          [`--net=/run/netns/${t.ns(name)}`, "socat", listen, `SYSTEM:echo ${name}`],
          {
            stdio: "ignore",
          },
        );
        lab.cleanup.add(async () => {
          const exited = new Promise((r) => server.once("exit", r));
          server.kill("SIGTERM");
          await exited;
        });
      }
    // The external namespace's end of its link to the host (helpers/topology.ts).
    const dev = "up1";
    for (const a of CLIENTS6) await must(["ip", "-n", t.ext, "addr", "add", `${a}/64`, "dev", dev, "nodad"]);
    for (const a of CLIENTS4) await must(["ip", "-n", t.ext, "addr", "add", `${a}/24`, "dev", dev]);
    await must(["ip", "-n", t.ext, "route", "add", "198.51.100.0/24", "via", t.hostIp4]);
    await must(["ip", "-n", t.ext, "route", "add", "2001:db8:100::/64", "via", t.hostIp6]);
  });

  it("keeps each client of an IPv6 VIP on one backend over many connections, while clients spread", async () => {
    const lb = await lab.d.ok<{ ID: string; AffinityTimeoutSeconds: number }>("POST", "/loadbalancers", {
      Name: "sticky6",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [VIP6],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }],
      Flags: 2,
    });
    expect(lb.AffinityTimeoutSeconds).toBe(10800);
    const got = new Map<string, string>();
    for (const client of CLIENTS6) got.set(client, await pinned(VIP6, client));
    // 12 clients all on one of 3 backends by chance: 3 × (1/3)^12, about 6 in a million.
    expect(new Set(got.values()).size).toBeGreaterThan(1);
    // Later connections still go where each client's first went.
    for (const client of CLIENTS6.slice(0, 4)) expect(await pinned(VIP6, client, 3)).toBe(got.get(client));
    expect(await lab.plan()).toEqual([]);
  });

  it("lets a client move once its load balancer's timeout has passed, while another's default keeps it", async () => {
    const body = (name: string, vip: string, extra: Record<string, unknown>): Record<string, unknown> => ({
      Name: name,
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [vip],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 1 }],
      ...extra,
    });
    await lab.d.ok("POST", "/loadbalancers", body("short", SHORT_VIP4, { AffinityTimeoutSeconds: 2 }));
    await lab.d.ok("POST", "/loadbalancers", body("long", VIP4, {}));
    const long = new Map<string, string>();
    for (const client of CLIENTS4) long.set(client, await pinned(VIP4, client));
    // After 2 s without a new connection a client draws again: over several rounds some client moves.
    const seen = new Map<string, Set<string>>(CLIENTS4.map((c) => [c, new Set<string>()]));
    for (let round = 0; round < 4; round++) {
      for (const client of CLIENTS4) seen.get(client)?.add(await pinned(SHORT_VIP4, client, 3));
      await new Promise((r) => setTimeout(r, 2500));
    }
    expect([...seen.values()].some((backends) => backends.size > 1)).toBe(true);
    for (const client of CLIENTS4) expect(await pinned(VIP4, client, 2)).toBe(long.get(client));
  });

  it("takes a new timeout and affinity turned off from PUT, in the kernel", async () => {
    const put = (extra: Record<string, unknown>, mapping: Record<string, unknown>): Promise<unknown> =>
      lab.d.ok("PUT", "/loadbalancers/short", {
        HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
        FrontendVIPs: [SHORT_VIP4],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, ...mapping }],
        ...extra,
      });
    await put({ AffinityTimeoutSeconds: 600 }, { DistributionType: 2 });
    expect((await ownNftObjects()).filter((n) => n.endsWith("_600s"))).toHaveLength(BACKENDS.length);
    expect((await ownNftObjects()).filter((n) => n.endsWith("_2s"))).toEqual([]);
    const [client] = CLIENTS4;
    const first = await pinned(SHORT_VIP4, client ?? "");
    await new Promise((r) => setTimeout(r, 2500));
    expect(await pinned(SHORT_VIP4, client ?? "", 3)).toBe(first);

    const short = await lab.d.ok<{ ID: string }>("GET", "/loadbalancers/short");
    await put({}, {});
    expect((await ownNftObjects()).filter((n) => n.includes(short.ID))).toEqual([]);
    const spread = await ask(SHORT_VIP4, client ?? "", 30);
    expect(spread).toHaveLength(30);
    expect(new Set(spread).size).toBeGreaterThan(1);
    expect(await lab.plan()).toEqual([]);
  });

  it("removes its chains and sets with the load balancer, and a restart after kill -9 leaves nothing to do", async () => {
    const sticky6 = await lab.d.ok<{ ID: string }>("GET", "/loadbalancers/sticky6");
    await lab.d.ok("DELETE", "/loadbalancers/sticky6");
    expect((await ownNftObjects()).filter((n) => n.includes(sticky6.ID))).toEqual([]);
    const long = await lab.d.ok<{ ID: string }>("GET", "/loadbalancers/long");
    const before = await ownNftObjects();
    expect(before.filter((n) => n.includes(long.ID)).length).toBeGreaterThan(0);
    const [client] = CLIENTS4;
    const kept = await pinned(VIP4, client ?? "", 2);

    await lab.d.kill("SIGKILL");
    await lab.d.restart();
    expect(await lab.plan()).toEqual([]);
    expect((await ownNftObjects()).sort()).toEqual([...before].sort());
    // The kernel kept its memory of the client across the restart: nothing was rebuilt.
    expect(await pinned(VIP4, client ?? "", 2)).toBe(kept);

    // Drift: a rule of the load balancer's chain deleted under hostnet is put back.
    const chain = `lb_${long.ID}_4`;
    const listed = await must(inNs(lab.t.host, ["nft", "-a", "list", "chain", "inet", "hostnet", chain]));
    const handle = /# handle (\d+)\s*$/m.exec(
      listed.split("\n").find((l) => l.includes("numgen")) ?? "",
    )?.[1];
    await must(inNs(lab.t.host, ["nft", "delete", "rule", "inet", "hostnet", chain, "handle", handle ?? ""]));
    for (let i = 0; i < 50 && (await lab.plan()).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await lab.plan()).toEqual([]);
    await lab.d.ok("DELETE", "/loadbalancers/long");
    await lab.d.ok("DELETE", "/loadbalancers/short");
    expect(await ownNftObjects()).toEqual([]);
  });
});
