import { request } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventWire } from "../../src/api/rest/events.js";
import { execCni } from "../helpers/cni-exec.js";
import { apiRequest, type TestDaemon } from "../helpers/daemon.js";
import { useLab } from "../helpers/lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { must, run } from "../helpers/run.js";
import type { Topology } from "../helpers/topology.js";

const HOSTNET = resolve(import.meta.dirname, "../../dist/bin/hostnet.js");
/** What an event may take to reach a reader; a repair also waits for the kernel's monitors. */
const EVENT_MS = 15_000;

/** GET /events?`query` on hostnetd's socket, its events collected as they come, until `stop`. */
function openStream(socket: string, query = ""): { events: EventWire[]; ended: Promise<void>; stop(): void } {
  const events: EventWire[] = [];
  let rest = "";
  const req = request({ socketPath: socket, path: `/events${query}` });
  const ended = new Promise<void>((resolvePromise, reject) => {
    req.on("response", (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) if (line !== "") events.push(JSON.parse(line) as EventWire);
      });
      res.on("end", resolvePromise);
      res.on("error", () => resolvePromise());
    });
    req.on("error", (err) => {
      if (req.destroyed) resolvePromise();
      else reject(err);
    });
  });
  req.end();
  return { events, ended, stop: () => req.destroy() };
}

const summary = (e: EventWire): string => `${e.Kind} ${e.Action} ${e.Name} ${e.Cause}`;

describe.skipIf(needsRoot)("the event stream of a real hostnetd", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  let live: ReturnType<typeof openStream>;
  let started = "";
  const hostnet = (...args: string[]) => run([process.execPath, HOSTNET, "--socket", d.socket, ...args]);

  /** Waits until the live stream has an event `summary` names, and returns it. */
  const seen = (what: string): Promise<EventWire> => seenWhere((e) => summary(e) === what, what);

  /** Waits until the live stream has an event `wanted` accepts, and returns it. */
  async function seenWhere(wanted: (e: EventWire) => boolean, what = "the event"): Promise<EventWire> {
    await within(EVENT_MS, () => Promise.resolve(live.events.some(wanted)), 20);
    const found = live.events.find(wanted);
    if (found === undefined)
      throw new Error(
        `no "${what}" among ${JSON.stringify(live.events.map(summary))}\n${d.logs().slice(-2000)}`,
      );
    return found;
  }

  beforeAll(async () => {
    ({ t, d } = lab);
    started = new Date().toISOString();
    live = openStream(d.socket);
    lab.cleanup.add(async () => {
      live.stop();
      await live.ended;
    });
    // The stream answers its head at once; a change made after that is streamed.
    await within(5000, () => Promise.resolve(live.events.length === 0), 50);
  });

  afterAll(() => {
    live.stop();
  });

  it("REST: create, attach, policy change, detach and delete, in order, each with cause rest", async () => {
    await lab.network("n1", ["10.81.0.0/24"]);
    await d.ok("POST", "/namespaces", { Name: t.ns("c1") });
    await d.ok("POST", "/endpoints", { Name: "e1", HostComputeNetwork: "n1" });
    await d.ok("POST", "/endpoints/e1/attach", { HostComputeNamespace: t.ns("c1") });
    await d.ok("POST", "/endpoints/e1/policies", {
      RequestType: "Add",
      Policies: [{ Type: "ACL", Settings: { Action: "Block", Direction: "In", Priority: 100 } }],
    });
    await d.ok("POST", "/endpoints/e1/detach");
    expect((await d.api("DELETE", "/endpoints/e1")).status).toBe(204);
    await seen("endpoint delete e1 rest");
    const ours = live.events.filter((e) => e.Name === "n1" || e.Name === "e1" || e.Name === t.ns("c1"));
    expect(ours.map(summary)).toEqual([
      "network create n1 rest",
      `namespace create ${t.ns("c1")} rest`,
      "endpoint create e1 rest",
      "endpoint attach e1 rest",
      "endpoint update e1 rest",
      "endpoint detach e1 rest",
      "endpoint delete e1 rest",
    ]);
    expect(ours[3]?.Details).toEqual({ Network: "n1", Namespace: t.ns("c1"), InterfaceName: "eth0" });
    expect(ours[4]?.Details).toMatchObject({ RequestType: "Add", Policies: ["ACL"] });
    const seqs = live.events.map((e) => e.Seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("the CLI, CNI and Docker doors name themselves", async () => {
    expect((await hostnet("network", "create", "clinet", "--subnet", "10.82.0.0/24")).code).toBe(0);
    await seen("network create clinet cli");

    await must(["ip", "netns", "add", t.ns("cni1")]);
    const cni = { socket: d.socket, network: "cninet", subnet: "10.83.0.0/24" };
    const netns = `/run/netns/${t.ns("cni1")}`;
    const added = await execCni(cni, "ADD", "cni-ctr-1", netns);
    expect(added.exitCode, JSON.stringify(added.output)).toBe(0);
    await seen("network create cninet cni");
    const cniEndpoint = live.events.find(
      (e) => e.Kind === "endpoint" && e.Action === "create" && e.Cause === "cni",
    );
    expect(cniEndpoint?.Details).toMatchObject({ Network: "cninet", InterfaceName: "eth0" });
    expect((await execCni(cni, "DEL", "cni-ctr-1", netns)).exitCode).toBe(0);
    await seen(`endpoint delete ${cniEndpoint?.Name ?? ""} cni`);

    const plugin = join(d.pluginDir, "hostnet.sock");
    const docker = await apiRequest(plugin, "POST", "/NetworkDriver.CreateNetwork", {
      NetworkID: "d0c4e7".padEnd(64, "0"),
      Options: {},
      IPv4Data: [{ AddressSpace: "", Pool: "10.84.0.0/24", Gateway: "10.84.0.1/24" }],
      IPv6Data: [],
    });
    expect(docker.body).toEqual({});
    const dockerNet = await seenWhere((e) => e.Kind === "network" && e.Cause === "docker");
    expect(dockerNet.Action).toBe("create");
  });

  it("drift repaired: a veth deleted behind hostnetd's back", async () => {
    const c2 = await lab.container("c2", "n1");
    await must(["ip", "-n", t.host, "link", "del", c2.HostInterfaceName]);
    const repaired = await seen("endpoint repaired c2 drift");
    expect(repaired.Details["Network"]).toBe("n1");
    expect(String(repaired.Details["Reason"])).toContain(c2.HostInterfaceName);
    expect(repaired.Details["Repaired"]).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^create veth ${c2.HostInterfaceName}`))]),
    );
  });

  it("since replays what the live stream saw, until ends it; both across a restart", async () => {
    const until = new Date().toISOString();
    const upTo = live.events.filter((e) => e.Time <= until);
    const replay = openStream(d.socket, `?since=${started}&until=${until}`);
    await replay.ended;
    expect(replay.events).toEqual(upTo);
    await d.kill();
    await d.restart();
    const after = openStream(d.socket, `?since=${String(Date.parse(started) / 1000)}&until=${until}`);
    await after.ended;
    expect(after.events).toEqual(upTo);
    const kinds = openStream(
      d.socket,
      `?since=${started}&until=${until}&kind=namespace&object=${t.ns("c1")}`,
    );
    await kinds.ended;
    expect(kinds.events.map(summary)).toEqual([`namespace create ${t.ns("c1")} rest`]);
  });

  it("bad since, until or kind: 400 naming the parameter", async () => {
    for (const [query, field] of [
      ["since=tomorrow", "since"],
      ["until=2026-12-07", "until"],
      ["since=2000&until=1000", "until"],
      ["kind=container", "kind"],
    ] as const) {
      const res = await d.api("GET", `/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "InvalidArgument", field } });
    }
  });

  it("hostnet events prints lines for people, or JSON lines with --json, and says what is wrong", async () => {
    const until = new Date().toISOString();
    const human = await hostnet("events", "--since", started, "--until", until, "--object", "n1");
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z network create n1 \(cause rest, Type=NAT\)$/,
    );
    const json = await hostnet("events", "--since", started, "--until", until, "--json");
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as EventWire);
    expect(lines.map((e) => e.Seq)).toEqual(live.events.filter((e) => e.Time <= until).map((e) => e.Seq));
    const bad = await hostnet("events", "--since", "soon");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/since/);
  });
});
