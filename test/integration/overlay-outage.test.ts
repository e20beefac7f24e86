/**
 * An overlay network on three hosts while its etcd is down for 30 s: established traffic between hosts flows on, a host
 * restarts and still gives its containers addresses of its own reserved blocks, requests that need the
 * cluster fail cleanly, and once etcd is back every host learns what happened meanwhile.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import {
  createUnderlay,
  daemonAt,
  startEtcd,
  startHostDaemons,
  stopEtcd,
  strayUnderlayPackets,
  type Underlay,
} from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import { startCatServer } from "../helpers/traffic.js";

const LEASE_SECONDS = 5;
const OUTAGE_MS = 30_000;
const ECHO_PORT = 7000;
/** One line every 200 ms over one TCP connection, for longer than the outage. */
const LINE_EVERY_MS = 200;

interface EndpointBody {
  ID: string;
  IpConfigurations: { IpAddress: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP connection that sends numbered lines to an echo server and counts what comes back; `closedEarly`
 * says whether the connection ended before it was stopped.
 */
function conversation(
  ns: string,
  address: string,
): { stop(): Promise<{ sent: number; echoed: number; closedEarly: boolean }> } {
  const [cmd = "", ...args] = inNs(ns, ["socat", "-", `TCP4:${address}:${String(ECHO_PORT)}`]);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "ignore"] });
  let sent = 0;
  let echoed = "";
  let stopping = false;
  let closedEarly = false;
  const closed = new Promise<void>((resolve) =>
    child.once("close", () => {
      closedEarly = !stopping;
      resolve();
    }),
  );
  child.stdout.on("data", (b: Buffer) => (echoed += b.toString()));
  child.stdin.on("error", () => undefined);
  const timer = setInterval(() => child.stdin.write(`${String(++sent)}\n`), LINE_EVERY_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sleep(1000);
      stopping = true;
      child.kill();
      await closed;
      return { sent, echoed: echoed.split("\n").filter((l) => l !== "").length, closedEarly };
    },
  };
}

describe.skipIf(needsRoot)("overlay networks while etcd is down", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];

  const daemonOn = (host: number): TestDaemon => daemonAt(d, host);

  const container = async (host: number, name: string): Promise<string> => {
    const ns = `${u.prefix}${name}`;
    await daemonOn(host).ok("POST", "/namespaces", { Name: ns });
    const ep = await daemonOn(host).ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "ov",
      HostComputeNamespace: ns,
    });
    return ep.IpConfigurations[0]?.IpAddress ?? "";
  };

  const knows = async (host: number, address: string): Promise<boolean> => {
    const eps = await daemonOn(host).ok<EndpointBody[]>("GET", "/endpoints");
    return eps.some((e) => e.IpConfigurations.some((c) => c.IpAddress === address));
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
    await daemonOn(0).ok("POST", "/networks", {
      Name: "ov",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.60.0.0/24" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 5000 } }],
    });
    for (const host of [1, 2])
      expect(
        await within(5000, async () => (await daemonOn(host).api("GET", "/networks/ov")).status === 200),
      ).toBeDefined();
  }, 60_000);
  afterAll(() => cleanup.run());

  it("keeps established traffic, serves its own blocks, and converges when etcd returns", async () => {
    const a = await container(0, "a");
    const b = await container(1, "b");
    const gone = await container(1, "gone");
    expect(await within(5000, () => ping(`${u.prefix}a`, b))).toBeDefined();
    expect(await within(5000, () => knows(0, gone))).toBeDefined();
    const server = await startCatServer(`${u.prefix}b`, ECHO_PORT);
    cleanup.add(() => server.stop());
    const talk = conversation(`${u.prefix}a`, b);
    const pings = run(inNs(`${u.prefix}b`, ["ping", "-q", "-i", "0.2", "-c", "200", "-W", "1", a]), {
      timeoutMs: 60_000,
    });

    await stopEtcd(u);
    const outage = Date.now();
    // Host 1 restarts without etcd, and gives a new container an address of its reserved blocks.
    await daemonOn(0).kill("SIGTERM");
    await daemonOn(0).restart();
    const c = await container(0, "c");
    expect(c).not.toBe("");
    // What needs etcd is refused, and leaves nothing behind.
    const borrowed = await daemonOn(1).api("POST", "/endpoints", {
      Name: "far",
      HostComputeNetwork: "ov",
      IpConfigurations: [{ IpAddress: "10.60.0.250" }],
    });
    expect(borrowed.status).toBe(503);
    expect((await daemonOn(1).api("GET", "/endpoints/far")).status).toBe(404);
    const network = await daemonOn(1).api("POST", "/networks", {
      Name: "ov2",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.61.0.0/24" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 5001 } }],
    });
    expect(network.status).toBe(503);
    expect((await daemonOn(1).api("GET", "/networks/ov2")).status).toBe(404);
    // Host 2 deletes a container meanwhile: host 1 hears of it once etcd is back.
    await daemonOn(1).ok("DELETE", "/endpoints/gone");
    await sleep(OUTAGE_MS - (Date.now() - outage));
    await startEtcd(u);

    for (const host of [1, 2]) expect(await within(10_000, () => knows(host, c))).toBeDefined();
    for (const host of [0, 2])
      expect(await within(10_000, async () => !(await knows(host, gone)))).toBeDefined();
    expect(await within(5000, () => ping(`${u.prefix}b`, c))).toBeDefined();
    const { sent, echoed, closedEarly } = await talk.stop();
    expect(closedEarly).toBe(false);
    expect(sent).toBeGreaterThan(OUTAGE_MS / LINE_EVERY_MS);
    expect(echoed).toBe(sent);
    const pinged = await pings;
    expect(pinged.stdout).toMatch(/200 packets transmitted, 200 received/);
    for (const daemon of d) expect(await daemon.ok("GET", "/plan")).toEqual({ Operations: [] });
    expect(await strayUnderlayPackets(u)).toBe(0);
  }, 90_000);
});
