/**
 * `POST /endpoints/{id}/trace` with real probes: each verdict hostnet's rules can give a packet from an
 * endpoint, told in hostnet's terms, with the nftables trace events behind it; a watch of the next packet a
 * container sends itself, and its timeout; the flow's mark gone after the trace, when a watch's caller
 * leaves, and after hostnetd is killed mid-trace and restarted; other traffic never traced.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import { startEchoServers, type Server } from "../helpers/traffic.js";

interface TraceBody {
  Endpoint: string;
  Source: string;
  Dropped: boolean;
  Steps: { Kind: string; Description: string }[];
  Probe?: string;
  Seen?: boolean;
  TimeoutSeconds?: number;
  Events: string[];
}

const VIP = "10.45.0.10";
/** A load balancer's VIP with no backend. */
const EMPTY_VIP = "10.45.0.20";
/** The host's second address on its uplink, which OutBoundNAT translates the sources of "natted" to. */
const NAT_VIP = "192.0.2.10";
const NODE_PORT = 30080;
const HOSTNET = resolve(import.meta.dirname, "../../dist/bin/hostnet.js");

describe.skipIf(needsRoot)("hostnet trace: why a packet went where it went", () => {
  const lab = useLab();
  const eps: Record<string, EndpointBody> = {};
  const addr = (name: string): string => eps[name]?.IpConfigurations[0]?.IpAddress ?? "";
  let servers: Server | undefined;
  let n1Bridge = "";

  const trace = async (from: string, body: Record<string, unknown>): Promise<TraceBody> => {
    const answer = await lab.d.ok<TraceBody>("POST", `/endpoints/${from}/trace`, body);
    // The whole answer when an expectation fails: the steps and the kernel's events behind them.
    expect.soft(answer.Events.length, JSON.stringify(answer, null, 2)).toBeGreaterThan(0);
    return answer;
  };
  const kinds = (t: TraceBody): string[] => t.Steps.map((s) => s.Kind);
  const described = (t: TraceBody): string => t.Steps.map((s) => s.Description).join("\n");

  /** The elements of the bridge table's trace sets: the flows marked for tracing now. */
  const marked = async (): Promise<string> =>
    (await must(inNs(lab.t.host, ["nft", "list", "set", "bridge", "hostnet", "trace4"]))) +
    (await must(inNs(lab.t.host, ["nft", "list", "set", "bridge", "hostnet", "trace6"])));
  const hasElements = (listing: string): boolean => /elements\s*=/.test(listing);
  /** Whether the trace sets came to hold a flow (or none, with `want` false) within 5 s. */
  const markedSoon = async (want = true): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      if (hasElements(await marked()) === want) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };

  /**
   * Runs `argv` in container `name` again and again until `answer` settles: a watch traces the first packet
   * once its monitor reads the kernel's events, which may be a moment after the flow's mark is in place.
   */
  const sendingUntil = async <T>(answer: Promise<T>, argv: readonly string[], name: string): Promise<T> => {
    // An object, which the loop reads afresh each time.
    const answered = { yet: false };
    const done = (): void => {
      answered.yet = true;
    };
    answer.then(done, done);
    while (!answered.yet) await run(inNs(lab.t.ns(name), argv));
    return answer;
  };

  beforeAll(async () => {
    const t = lab.t;
    n1Bridge = (await lab.network("n1", ["10.41.0.0/24"])).Bridge;
    await lab.network("n2", ["10.42.0.0/24", "fd42::/64"]);
    await lab.network("int", ["10.43.0.0/24"], { Type: "Internal" });
    const web = await lab.container("web", "n1", {
      Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } }],
    });
    eps["web"] = web;
    eps["client"] = await lab.container("client", "n1");
    eps["guarded"] = await lab.container("guarded", "n1", {
      Policies: [
        {
          Type: "ACL",
          Settings: { Action: "Block", Direction: "Out", Protocols: "6", RemotePorts: "5432", Priority: 200 },
        },
        { Type: "ACL", Settings: { Action: "Allow", Direction: "Out", Priority: 300 } },
      ],
    });
    eps["other"] = await lab.container("other", "n2");
    eps["closed"] = await lab.container("closed", "int");
    await must(["ip", "-n", t.host, "addr", "add", `${NAT_VIP}/24`, "dev", "up0"]);
    eps["natted"] = await lab.container("natted", "n1", {
      Policies: [{ Type: "OutBoundNAT", Settings: { VirtualIP: NAT_VIP, Exceptions: [] } }],
    });
    eps["sly"] = await lab.container("sly", "n1");
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "web-lb",
      HostComputeEndpoints: [web.ID],
      FrontendVIPs: [VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
    });
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "empty-lb",
      HostComputeEndpoints: [],
      FrontendVIPs: [EMPTY_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }],
    });
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "node-lb",
      HostComputeEndpoints: [web.ID],
      FrontendVIPs: [],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: NODE_PORT }],
    });
    servers = await startEchoServers(t.ns("web"), 80);
  });
  afterAll(async () => {
    await servers?.stop();
  });

  it("follows a packet masqueraded to the outside, and says where it left", async () => {
    const t = await trace("client", { Destination: lab.t.extIp4, Protocol: "icmp" });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("answered");
    expect(kinds(t)).toEqual(["masquerade", "left"]);
    expect(described(t)).toContain(
      `masqueraded behind the host's address ${lab.t.hostIp4} on up0, to the outside`,
    );
  });

  it("follows an IPv6 packet the same way", async () => {
    const t = await trace("other", { Destination: lab.t.extIp6, Protocol: "udp", Port: 9 });
    expect(t.Dropped).toBe(false);
    expect(t.Source).toMatch(/^fd42:/);
    expect(kinds(t)).toEqual(["masquerade", "left"]);
    expect(described(t)).toContain(
      `masqueraded behind the host's address ${lab.t.hostIp6} on up0, to the outside`,
    );
  });

  it("names the port mapping that translated a packet to a published port", async () => {
    const t = await trace("client", { Destination: lab.t.hostIp4, Protocol: "tcp", Port: 8080 });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("connected");
    expect(kinds(t)).toContain("portMapping");
    expect(described(t)).toContain('port mapping 8080->80/tcp of endpoint "web"');
    expect(described(t)).toContain(`to ${addr("web")}:80`);
  });

  it("names the load balancer that translated a packet to its VIP", async () => {
    const t = await trace("client", { Destination: VIP, Protocol: "tcp", Port: 80 });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("connected");
    expect(described(t)).toContain('load balancer "web-lb"');
    expect(described(t)).toContain(`to ${addr("web")}:80`);
  });

  it("names a NodePort load balancer, and the endpoint the translated packet was bridged to", async () => {
    const t = await trace("client", { Destination: lab.t.hostIp4, Protocol: "tcp", Port: NODE_PORT });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("connected");
    expect(kinds(t)).toEqual(["loadBalancer", "translated", "masquerade", "bridged"]);
    expect(described(t)).toContain('load balancer "node-lb"');
    expect(described(t)).toContain("VIPs none: NodePort");
    // A hairpin: the backend answers the bridge's address, the client's gateway.
    expect(described(t)).toContain(
      "masqueraded behind the host's address 10.41.0.1 on the bridge of network",
    );
    expect(described(t)).toContain(`to ${addr("web")}:80`);
    expect(described(t)).toContain('bridged to endpoint "web"');
  });

  it("says a load balancer without a backend refused the connection", async () => {
    const t = await trace("client", { Destination: EMPTY_VIP, Protocol: "tcp", Port: 80 });
    expect(t.Dropped).toBe(true);
    expect(t.Probe).toBe("refused");
    expect(kinds(t)).toEqual(["noBackend"]);
    expect(described(t)).toBe('refused: load balancer "empty-lb" has no backend of this address family');
  });

  it("shows the address OutBoundNAT translated the source to, and whose policy it is", async () => {
    const t = await trace("natted", { Destination: lab.t.extIp4, Protocol: "icmp" });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("answered");
    expect(kinds(t)).toEqual(["snat", "left"]);
    expect(described(t)).toContain(
      `source address translated to ${NAT_VIP} by the OutBoundNAT policy of endpoint "natted" on up0, to the outside`,
    );
  });

  it("says a packet to the host's own address was delivered to it", async () => {
    const t = await trace("client", { Destination: "10.41.0.1", Protocol: "icmp" });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("answered");
    expect(kinds(t)).toEqual(["delivered"]);
    expect(described(t)).toBe("delivered to the host itself");
  });

  it("says a packet to an endpoint on the same bridge was bridged to its port", async () => {
    const t = await trace("client", { Destination: addr("web"), Protocol: "tcp", Port: 80 });
    expect(t.Dropped).toBe(false);
    expect(t.Probe).toBe("connected");
    expect(kinds(t)).toEqual(["bridged"]);
    expect(described(t)).toMatch(/^bridged to endpoint "web" \(hnv-[0-9a-f]+\)$/);
  });

  it("says the loopback guard dropped a packet for the host's loopback address", async () => {
    // The container sends to 127.0.0.2 through its gateway, as a hostile one may, to reach the host's
    // loopback: a route without a gateway (hostnet keeps a container's routes through a gateway as it made
    // them) and the bridge's MAC as the neighbour's.
    const sly = lab.t.ns("sly");
    const [bridge] = JSON.parse(
      await must(inNs(lab.t.host, ["ip", "-j", "link", "show", "dev", n1Bridge])),
    ) as { address: string }[];
    const neigh = ["127.0.0.2", "dev", "eth0"];
    await must(["ip", "-n", sly, "route", "add", "127.0.0.2/32", "dev", "eth0", "table", "local"]);
    await must([
      "ip",
      "-n",
      sly,
      "neigh",
      "replace",
      ...neigh,
      "lladdr",
      bridge?.address ?? "",
      "nud",
      "permanent",
    ]);
    try {
      const t = await trace("sly", { Destination: "127.0.0.2", Protocol: "tcp", Port: 80 });
      expect(t.Dropped).toBe(true);
      expect(t.Probe).toBe("no answer");
      expect(kinds(t)).toEqual(["loopbackGuard"]);
      expect(described(t)).toBe("dropped: a loopback address reached from outside the host");
    } finally {
      await run(["ip", "-n", sly, "route", "del", "127.0.0.2/32", "dev", "eth0", "table", "local"]);
      await run(["ip", "-n", sly, "neigh", "del", ...neigh]);
    }
  });

  it("names the ACL rule that blocked a packet, and the one that allowed another", async () => {
    const blocked = await trace("guarded", { Destination: lab.t.extIp4, Protocol: "tcp", Port: 5432 });
    expect(blocked.Dropped).toBe(true);
    expect(described(blocked)).toContain('ACL rule of endpoint "guarded": Out, priority 200, Block');
    const allowed = await trace("guarded", { Destination: lab.t.extIp4, Protocol: "icmp" });
    expect(allowed.Dropped).toBe(false);
    expect(described(allowed)).toContain('ACL rule of endpoint "guarded": Out, priority 300, Allow');
  });

  it("prints the path with hostnet trace, and exits 2 on a --to it cannot read", async () => {
    const hostnet = (...args: string[]): ReturnType<typeof run> =>
      run([process.execPath, HOSTNET, "--socket", lab.d.socket, "trace", ...args]);
    const r = await hostnet("--from", "guarded", "--to", `${lab.t.extIp4}:5432`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `guarded (${addr("guarded")}) -> ${lab.t.extIp4}:5432/tcp`,
        '  blocked by the ACL rule of endpoint "guarded": Out, priority 200, Block',
        "dropped; the probe: no answer",
        "",
      ].join("\n"),
    );
    expect((await hostnet("--from", "guarded", "--to", "nowhere:80")).code).toBe(2);
  });

  it("says network isolation dropped a packet from one NAT network to another", async () => {
    const t = await trace("other", { Destination: addr("client"), Protocol: "icmp" });
    expect(t.Dropped).toBe(true);
    expect(kinds(t)).toEqual(["isolation"]);
    expect(described(t)).toContain('network "n1"');
  });

  it("says an Internal network's closed policy dropped a packet routed into it", async () => {
    const t = await trace("client", { Destination: addr("closed"), Protocol: "icmp" });
    expect(t.Dropped).toBe(true);
    expect(kinds(t)).toEqual(["closed"]);
    expect(described(t)).toContain('Internal network "int"');
  });

  it("says anti-spoofing dropped a probe from a forged source address", async () => {
    // The gateway's MAC known first: an ARP request from the forged address would be dropped (anti-spoofing
    // checks ARP too), and the probe would never leave.
    expect(await ping(lab.t.ns("client"), "10.41.0.1")).toBe(true);
    await must(["ip", "-n", lab.t.ns("client"), "addr", "add", "10.41.0.99/32", "dev", "eth0"]);
    try {
      const t = await trace("client", { Destination: lab.t.extIp4, Protocol: "icmp", Source: "10.41.0.99" });
      expect(t.Dropped).toBe(true);
      expect(kinds(t)).toEqual(["antispoof"]);
      expect(described(t)).toContain("IPv4 source address");
    } finally {
      await run(["ip", "-n", lab.t.ns("client"), "addr", "del", "10.41.0.99/32", "dev", "eth0"]);
    }
  });

  it("watches the next real packet the endpoint sends, and sends no probe of its own", async () => {
    const watching = lab.d.api("POST", "/endpoints/client/trace", {
      Destination: lab.t.extIp4,
      Protocol: "icmp",
      Watch: true,
      TimeoutSeconds: 60,
    });
    expect(await markedSoon()).toBe(true);
    const sent = Date.now();
    // Pings of the container's own.
    const r = await sendingUntil(watching, ["ping", "-n", "-c", "1", "-W", "1", lab.t.extIp4], "client");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const t = r.body as TraceBody;
    expect(t).toMatchObject({ Seen: true, TimeoutSeconds: 60, Dropped: false, Source: addr("client") });
    expect(t.Probe).toBeUndefined();
    expect(t.Events.length).toBeGreaterThan(0);
    expect(kinds(t)).toEqual(["masquerade", "left"]);
    // It answered once the packet came, not when its time was up.
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(hasElements(await marked())).toBe(false);
    expect(await lab.plan()).toEqual([]);
  });

  it("answers a watch no packet came for once its time is up, with nothing traced", async () => {
    const started = Date.now();
    const t = await lab.d.ok<TraceBody>("POST", "/endpoints/client/trace", {
      Destination: "192.0.2.77",
      Protocol: "tcp",
      Port: 9,
      Watch: true,
      TimeoutSeconds: 2,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(t).toMatchObject({ Seen: false, TimeoutSeconds: 2, Dropped: false, Steps: [], Events: [] });
    expect(t.Probe).toBeUndefined();
    expect(hasElements(await marked())).toBe(false);
  });

  it("prints a watched packet's path with hostnet trace --watch: a connection the ACL blocks", async () => {
    const cli = run([
      process.execPath,
      HOSTNET,
      "--socket",
      lab.d.socket,
      "trace",
      "--from",
      "guarded",
      "--to",
      `${lab.t.extIp4}:5432`,
      "--watch",
      "--timeout",
      "60",
    ]);
    expect(await markedSoon()).toBe(true);
    // The container connects by itself; its ACL drops the SYN, so each try gives up after 1 s.
    const r = await sendingUntil(
      cli,
      ["timeout", "1", "bash", "-c", `exec 3<>/dev/tcp/${lab.t.extIp4}/5432`],
      "guarded",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `guarded (${addr("guarded")}) -> ${lab.t.extIp4}:5432/tcp`,
        '  blocked by the ACL rule of endpoint "guarded": Out, priority 200, Block',
        "dropped; watched: a packet the endpoint sent itself",
        "",
      ].join("\n"),
    );
    const usage = await run([
      process.execPath,
      HOSTNET,
      "--socket",
      lab.d.socket,
      "trace",
      "--from",
      "guarded",
      "--to",
      lab.t.extIp4,
      "--timeout",
      "5",
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--timeout is for --watch");
  });

  it("refuses a watch it cannot keep, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ Destination: lab.t.extIp4, Protocol: "icmp", Watch: true, Source: "10.41.0.99" }, "Source"],
      [{ Destination: lab.t.extIp4, Protocol: "icmp", TimeoutSeconds: 5 }, "TimeoutSeconds"],
      [{ Destination: lab.t.extIp4, Protocol: "icmp", Watch: true, TimeoutSeconds: 0 }, "TimeoutSeconds"],
      [{ Destination: lab.t.extIp4, Protocol: "icmp", Watch: true, TimeoutSeconds: 3601 }, "TimeoutSeconds"],
    ];
    for (const [body, field] of cases) {
      const r = await lab.d.api("POST", "/endpoints/client/trace", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ error: { field } });
    }
    expect(hasElements(await marked())).toBe(false);
  });

  it("removes a watch's mark as soon as its caller leaves", async () => {
    const req = request({
      socketPath: lab.d.socket,
      method: "POST",
      path: "/endpoints/client/trace",
      headers: { "content-type": "application/json" },
    });
    req.on("error", () => undefined);
    req.end(
      JSON.stringify({
        Destination: "192.0.2.77",
        Protocol: "udp",
        Port: 9,
        Watch: true,
        TimeoutSeconds: 600,
      }),
    );
    expect(await markedSoon()).toBe(true);
    req.destroy();
    expect(await markedSoon(false)).toBe(true);
    expect(await lab.plan()).toEqual([]);
  });

  it("refuses a probe it cannot send, naming the field, and marks nothing", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ Destination: "10.0.0.300", Protocol: "icmp" }, "Destination"],
      [{ Destination: lab.t.extIp4, Protocol: "tcp" }, "Port"],
      [{ Destination: lab.t.extIp4, Protocol: "icmp", Port: 80 }, "Port"],
      [{ Destination: "2001:db8:1::2", Protocol: "icmp" }, "Destination"],
      [{ Destination: lab.t.extIp4, Protocol: "sctp" }, "Protocol"],
    ];
    for (const [body, field] of cases) {
      const r = await lab.d.api("POST", "/endpoints/client/trace", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ error: { field } });
    }
    expect(hasElements(await marked())).toBe(false);
  });

  it("leaves no mark behind, and traces no other traffic while it runs", async () => {
    const watch = spawn("nsenter", [
      `--net=/run/netns/${lab.t.host}`,
      "timeout",
      "5",
      "nft",
      "monitor",
      "trace",
    ]);
    let seen = "";
    watch.stdout.on("data", (b: Buffer) => (seen += b.toString()));
    await new Promise((r) => setTimeout(r, 300));
    // Another endpoint's traffic to the same destination, while the trace runs.
    const other = must(inNs(lab.t.ns("other"), ["ping", "-n", "-q", "-c", "3", "-i", "0.3", lab.t.extIp4]));
    const t = await trace("client", { Destination: lab.t.extIp4, Protocol: "icmp" });
    await other;
    await new Promise((r) => watch.on("close", r));
    expect(t.Events.length).toBeGreaterThan(0);
    expect(seen).toContain(addr("client"));
    expect(seen).not.toContain(addr("other"));
    expect(hasElements(await marked())).toBe(false);
    expect(await lab.plan()).toEqual([]);
  });

  it("removes the mark of a trace hostnetd was killed in, when it starts again", async () => {
    // A SYN no one answers: the probe waits its whole timeout, with the flow marked.
    const pending = lab.d
      .api("POST", "/endpoints/client/trace", { Destination: "192.0.2.77", Protocol: "tcp", Port: 9 })
      .catch(() => undefined);
    let during = "";
    for (let i = 0; i < 40 && !hasElements(during); i++) {
      await new Promise((r) => setTimeout(r, 50));
      during = await marked();
    }
    expect(hasElements(during)).toBe(true);
    await lab.d.kill("SIGKILL");
    await pending;
    expect(hasElements(await marked())).toBe(true);
    await lab.d.restart();
    expect(hasElements(await marked())).toBe(false);
    expect(await lab.plan()).toEqual([]);
  });

  it("removes the mark of a watch hostnetd was killed in, when it starts again", async () => {
    const pending = lab.d
      .api("POST", "/endpoints/client/trace", {
        Destination: "192.0.2.77",
        Protocol: "tcp",
        Port: 9,
        Watch: true,
        TimeoutSeconds: 600,
      })
      .catch(() => undefined);
    expect(await markedSoon()).toBe(true);
    await lab.d.kill("SIGKILL");
    await pending;
    expect(hasElements(await marked())).toBe(true);
    await lab.d.restart();
    expect(hasElements(await marked())).toBe(false);
    expect(await lab.plan()).toEqual([]);
  });

  it("stops at once on SIGTERM with a watch running, and removes its mark on the way", async () => {
    const pending = lab.d
      .api("POST", "/endpoints/client/trace", {
        Destination: "192.0.2.77",
        Protocol: "udp",
        Port: 9,
        Watch: true,
        TimeoutSeconds: 600,
      })
      .catch(() => undefined);
    expect(await markedSoon()).toBe(true);
    const stopping = Date.now();
    await lab.d.kill("SIGTERM");
    expect(Date.now() - stopping).toBeLessThan(15_000);
    await pending;
    expect(hasElements(await marked())).toBe(false);
    await lab.d.restart();
    expect(await lab.plan()).toEqual([]);
  });
});
