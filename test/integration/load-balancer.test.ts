/**
 * Load balancers in real namespaces: backends that each answer with their own name behind a VIP the
 * external namespace routes to the host. Connections spread evenly; removing a backend keeps its
 * established connections; a load balancer without backends refuses at once; an ILB is out of the
 * outside's reach but in a container's.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Address6 } from "ip-address";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { within } from "../helpers/poll.js";
import { inNs, must, run } from "../helpers/run.js";

const HOSTNET_CLI = join(import.meta.dirname, "../../dist/bin/hostnet.js");
const VIP = "198.51.100.10";
const ECHO_VIP = "198.51.100.11";
const ILB_VIP = "198.51.100.12";
const LOCAL_VIP = "198.51.100.13";
const STICKY_VIP = "198.51.100.14";
const DSR_VIP = "198.51.100.15";
const DSR_VIP6 = "2001:db8:100::15";
const PUT_VIP = "198.51.100.16";
const AFFINITY_SECONDS = 3;
const BACKENDS = ["b1", "b2", "b3"] as const;
const CONNECTIONS = 600;

interface LbBody {
  ID: string;
  HostComputeEndpoints: string[];
}

describe.skipIf(needsRoot)("load balancers", () => {
  const lab = useLab({
    daemonArgs: ["--no-default-network", "--lb-affinity-timeout", String(AFFINITY_SECONDS)],
  });
  const ids: Record<string, string> = {};

  const hostnet = (...args: string[]): Promise<string> =>
    must([process.execPath, HOSTNET_CLI, "--socket", lab.d.socket, ...args]);

  /** Answers of `count` connections from `ns` to `vip`:`port`, one socat each, in one shell. */
  async function ask(ns: string, vip: string, port: number, count: number): Promise<string[]> {
    const to = vip.includes(":") ? `TCP6:[${vip}]` : `TCP4:${vip}`;
    const script = `i=0; while [ $i -lt ${count} ]; do socat -T 2 - ${to}:${port},connect-timeout=2 </dev/null; i=$((i+1)); done`;
    const r = await run(inNs(ns, ["sh", "-c", script]), { timeoutMs: 120_000 });
    return r.stdout.split("\n").filter((l) => l !== "");
  }

  /**
   * One TCP connection from outside to `vip`:`port`, kept open: `echo` sends a line and waits (up to 2.5 s) for
   * the backend to send it back; `echoed` is all it sent back so far.
   */
  function echoClient(
    vip: string,
    port: number,
  ): { echo: (text: string) => Promise<void>; echoed: () => string } {
    const client = spawn("nsenter", [`--net=/run/netns/${lab.t.ext}`, "socat", "-", `TCP4:${vip}:${port}`], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    lab.cleanup.add(async () => {
      if (client.exitCode !== null || client.signalCode !== null) return;
      const exited = new Promise((r) => client.once("exit", r));
      client.kill("SIGTERM");
      await exited;
    });
    let echoed = "";
    client.stdout.on("data", (b: Buffer) => (echoed += b.toString()));
    return {
      echo: async (text) => {
        client.stdin.write(`${text}\n`);
        for (let i = 0; i < 50 && !echoed.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      },
      echoed: () => echoed,
    };
  }

  beforeAll(async () => {
    const t = lab.t;
    await lab.network("n", ["10.40.0.0/24", "fd40::/64"]);
    for (const name of [...BACKENDS, "client"]) ids[name] = (await lab.container(name, "n")).ID;
    for (const name of BACKENDS)
      for (const [listen, answer] of [
        ["TCP4-LISTEN:8080,fork,reuseaddr", `SYSTEM:echo ${name}`],
        ["TCP4-LISTEN:9000,fork,reuseaddr", "EXEC:cat"],
        ["UDP6-RECVFROM:5353,fork,reuseaddr", `SYSTEM:echo ${name}`],
        ["TCP4-LISTEN:8081,fork,reuseaddr", "SYSTEM:echo $SOCAT_PEERADDR"],
        ["TCP4-LISTEN:8082,fork,reuseaddr", `SYSTEM:echo ${name} $SOCAT_SOCKADDR $SOCAT_PEERADDR`],
        ["TCP6-LISTEN:8083,fork,reuseaddr", `SYSTEM:echo ${name} $SOCAT_SOCKADDR $SOCAT_PEERADDR`],
      ] as const) {
        const server = spawn("nsenter", [`--net=/run/netns/${t.ns(name)}`, "socat", listen, answer], {
          stdio: "ignore",
        });
        lab.cleanup.add(async () => {
          const exited = new Promise((r) => server.once("exit", r));
          server.kill("SIGTERM");
          await exited;
        });
      }
    await must(["ip", "-n", t.ext, "route", "add", "198.51.100.0/24", "via", t.hostIp4]);
    await must(["ip", "-n", t.ext, "route", "add", "2001:db8:100::/64", "via", t.hostIp6]);
    await new Promise((r) => setTimeout(r, 300));
  });

  it("spreads connections from outside evenly over the backends", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "web",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    const answers = await ask(lab.t.ext, VIP, 80, CONNECTIONS);
    expect(answers).toHaveLength(CONNECTIONS);
    for (const b of BACKENDS) {
      const share = answers.filter((a) => a === b).length / (CONNECTIONS / BACKENDS.length);
      expect(share, b).toBeGreaterThan(0.75);
      expect(share, b).toBeLessThan(1.25);
    }
  });

  it("sends no new connection to a removed backend, and adds one incrementally (through the CLI)", async () => {
    await hostnet("lb", "rm-backend", "web", "b3");
    const without = await ask(lab.t.ext, VIP, 80, 60);
    expect(without).toHaveLength(60);
    expect(without).not.toContain("b3");
    await hostnet("lb", "add-backend", "web", "b3");
    expect((await hostnet("lb", "ls")).split("\n")[1]).toMatch(/web .*b1,b2,b3/);
    expect(await ask(lab.t.ext, VIP, 80, 60)).toContain("b3");
  });

  it("keeps an established connection when its backend is removed, and refuses new ones once none is left", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "echo",
      HostComputeEndpoints: [ids["b1"]],
      FrontendVIPs: [ECHO_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 9000, ExternalPort: 90 }],
    });
    const { echo, echoed } = echoClient(ECHO_VIP, 90);
    await echo("before");
    expect(echoed()).toContain("before");
    await lab.d.ok("POST", "/loadbalancers/echo/endpoints", {
      RequestType: "Remove",
      HostComputeEndpoints: ["b1"],
    });
    await echo("after");
    expect(echoed()).toContain("after");

    const started = Date.now();
    const refused = await run(
      inNs(lab.t.ext, ["socat", "-T", "2", "-", `TCP4:${ECHO_VIP}:90,connect-timeout=3`]),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Connection refused");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("balances UDP on an IPv6 VIP over the backends' IPv6 addresses", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "dns",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: ["2001:db8:100::10"],
      PortMappings: [{ Protocol: 17, InternalPort: 5353, ExternalPort: 53 }],
    });
    // The first datagrams to a new IPv6 VIP may wait on neighbour discovery and be lost: one answer first.
    const answered = async (): Promise<boolean> =>
      (
        await run(inNs(lab.t.ext, ["socat", "-T", "0.5", "-", "UDP6:[2001:db8:100::10]:53"]), {
          input: "q\n",
        })
      ).stdout.trim() !== "";
    expect(await within(5000, answered)).toBeDefined();
    const script =
      // Each client retries, as a resolver does: a datagram may be lost on a busy machine (18 at once: 3
      // tries of 1 s each left 2 of them unanswered once in CI).
      'ask() { for t in 1 2 3 4 5; do r=$(echo q | socat -T 2 - "UDP6:[2001:db8:100::10]:53") && [ -n "$r" ] && echo "$r" && return; done; }; ' +
      "i=0; while [ $i -lt 18 ]; do ask & i=$((i+1)); done; wait";
    const answers = (await run(inNs(lab.t.ext, ["sh", "-c", script]), { timeoutMs: 120_000 })).stdout
      .split("\n")
      .filter((l) => l !== "");
    expect(answers).toHaveLength(18);
    for (const b of BACKENDS) expect(answers).toContain(b);

    // One client port, so one UDP flow: its backend is removed, and its next datagram goes elsewhere.
    // It asks again from the same port, so the same flow, when a datagram is lost on a busy machine.
    const fromOnePort = async (): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        const answer = (
          await run(
            inNs(lab.t.ext, [
              "socat",
              "-T",
              "0.5",
              "-",
              "UDP6:[2001:db8:100::10]:53,sourceport=40053,reuseaddr",
            ]),
            { input: "q\n" },
          )
        ).stdout.trim();
        if (answer !== "" || attempt === 2) return answer;
      }
    };
    const first = await fromOnePort();
    expect(await fromOnePort()).toBe(first);
    await lab.d.ok("POST", "/loadbalancers/dns/endpoints", {
      RequestType: "Remove",
      HostComputeEndpoints: [first],
    });
    const after = await fromOnePort();
    expect(BACKENDS).toContain(after);
    expect(after).not.toBe(first);
  });

  it("shows backends the SourceVIP instead of the client's address when it has one", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "snat",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: ["198.51.100.13"],
      PortMappings: [{ Protocol: 6, InternalPort: 8081, ExternalPort: 81 }],
      SourceVIP: "203.0.113.5",
    });
    expect(await ask(lab.t.ext, "198.51.100.13", 81, 3)).toEqual([
      "203.0.113.5",
      "203.0.113.5",
      "203.0.113.5",
    ]);
    expect(await ask(lab.t.ext, VIP, 80, 1)).toHaveLength(1);
    await lab.d.ok("DELETE", "/loadbalancers/snat");
  });

  it("keeps an internal load balancer out of the outside's reach, but not of the host's containers", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "ilb",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [ILB_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 1 }],
    });
    expect(await ask(lab.t.ext, ILB_VIP, 80, 1)).toEqual([]);
    expect(await ask(lab.t.host, ILB_VIP, 80, 1)).toEqual([]);
    const fromContainer = await ask(lab.t.ns("client"), ILB_VIP, 80, 6);
    expect(fromContainer).toHaveLength(6);
    for (const answer of fromContainer) expect(BACKENDS).toContain(answer);
  });

  it("lets the host reach an internal load balancer with LocalRoutedVip, and still not the outside", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "ilb-local",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [LOCAL_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 3 }],
    });
    const fromHost = await ask(lab.t.host, LOCAL_VIP, 80, 6);
    expect(fromHost).toHaveLength(6);
    for (const answer of fromHost) expect(BACKENDS).toContain(answer);
    expect(await ask(lab.t.ext, LOCAL_VIP, 80, 1)).toEqual([]);
    await lab.d.ok("DELETE", "/loadbalancers/ilb-local");
  });

  it("pins each client to one backend with source-IP affinity, and forgets a removed backend", async () => {
    const sticky = await lab.d.ok<LbBody>("POST", "/loadbalancers", {
      Name: "sticky",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [STICKY_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }],
    });
    const first = await ask(lab.t.ext, STICKY_VIP, 80, 20);
    expect(first).toHaveLength(20);
    const pinned = first[0] ?? "";
    expect(new Set(first)).toEqual(new Set([pinned]));
    await lab.d.ok("POST", "/loadbalancers/sticky/endpoints", {
      RequestType: "Remove",
      HostComputeEndpoints: [ids[pinned]],
    });
    const after = await ask(lab.t.ext, STICKY_VIP, 80, 20);
    expect(after).toHaveLength(20);
    expect(after).not.toContain(pinned);
    expect(new Set(after).size).toBe(1);
    expect(await lab.plan()).toEqual([]);
    // The affinity times out AFFINITY_SECONDS after the client's last new connection; it is in the set of
    // the backend the client has, one of the load balancer's own.
    const affinities = async (): Promise<string> =>
      (await must(inNs(lab.t.host, ["nft", "list", "table", "inet", "hostnet"])))
        .split(/\n\tset /)
        .filter((set) => set.startsWith(`lb_${sticky.ID}_`))
        .join("\n");
    expect(await affinities()).toContain(`${lab.t.extIp4} . ${STICKY_VIP}`);
    await new Promise((r) => setTimeout(r, (AFFINITY_SECONDS + 1) * 1000));
    expect(await affinities()).not.toContain(`${lab.t.extIp4} . ${STICKY_VIP}`);
    await lab.d.ok("DELETE", "/loadbalancers/sticky");
  });

  it("routes a DSR VIP to the backends unchanged: they answer the client from the VIP themselves (PreserveDIP)", async () => {
    // As kube-proxy asks for a service with preserve-destination: DSR, UseMux and PreserveDIP.
    const PRESERVE_DIP_USE_MUX = 8 | 4;
    const dsr = await lab.d.ok<{ PortMappings: { Flags: number }[] }>("POST", "/loadbalancers", {
      Name: "dsr",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [DSR_VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8082, ExternalPort: 8082, Flags: PRESERVE_DIP_USE_MUX }],
      Flags: 1,
    });
    expect(dsr.PortMappings[0]?.Flags).toBe(PRESERVE_DIP_USE_MUX);
    const answers = await ask(lab.t.ext, DSR_VIP, 8082, 6);
    expect(answers).toHaveLength(6);
    for (const answer of answers) {
      const [name, local, peer] = answer.split(" ");
      expect(BACKENDS).toContain(name);
      // The backend accepted the connection on the VIP itself (no DNAT) from the client's own address.
      expect({ local, peer }).toEqual({ local: DSR_VIP, peer: lab.t.extIp4 });
    }
    const flows = await must(inNs(lab.t.host, ["conntrack", "-L", "-p", "tcp", "--orig-dst", DSR_VIP]));
    expect(flows).not.toContain("src=10.40.");
    expect(await lab.plan()).toEqual([]);
    await lab.d.ok("DELETE", "/loadbalancers/dsr");
    for (const b of BACKENDS)
      expect(await must(inNs(lab.t.ns(b), ["ip", "-4", "addr", "show", "dev", "lo"]))).not.toContain(DSR_VIP);
    expect(await must(inNs(lab.t.host, ["ip", "route", "show", "proto", "211"]))).toBe("");
    expect(await lab.plan()).toEqual([]);
  });

  it("routes an IPv6 DSR VIP to the backends' IPv6 addresses unchanged", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "dsr6",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [DSR_VIP6],
      PortMappings: [{ Protocol: 6, InternalPort: 8083, ExternalPort: 8083 }],
      Flags: 1,
    });
    const answers = await ask(lab.t.ext, DSR_VIP6, 8083, 6);
    expect(answers).toHaveLength(6);
    for (const answer of answers) {
      const [name, local, peer] = answer.split(" ");
      expect(BACKENDS).toContain(name);
      // socat prints IPv6 addresses in full, in brackets.
      const canonical = (a = ""): string => new Address6(a.slice(1, -1)).correctForm();
      expect({ local: canonical(local), peer: canonical(peer) }).toEqual({
        local: DSR_VIP6,
        peer: lab.t.extIp6,
      });
    }
    const route = await must(inNs(lab.t.host, ["ip", "-6", "route", "show", "proto", "211"]));
    expect(route).toContain(DSR_VIP6);
    expect(route.match(/via fd40::/g)).toHaveLength(BACKENDS.length);
    expect(await must(inNs(lab.t.ns("b1"), ["ip", "-6", "addr", "show", "dev", "lo"]))).toContain(
      `${DSR_VIP6}/128`,
    );
    expect(await lab.plan()).toEqual([]);
    // A restart finds its own VIPs by their mark and keeps them; a delete takes them all away.
    await lab.d.kill("SIGTERM");
    await lab.d.restart();
    expect(await lab.plan()).toEqual([]);
    await lab.d.ok("DELETE", "/loadbalancers/dsr6");
    for (const b of BACKENDS)
      expect(await must(inNs(lab.t.ns(b), ["ip", "-6", "addr", "show", "dev", "lo"]))).not.toContain(
        DSR_VIP6,
      );
    expect(await must(inNs(lab.t.host, ["ip", "-6", "route", "show", "proto", "211"]))).toBe("");
    expect(await lab.plan()).toEqual([]);
  });

  it("changes a load balancer in one PUT as a delta: an unchanged backend keeps its connection, a removed one gets no new ones", async () => {
    const body = (backends: readonly string[]): Record<string, unknown> => ({
      Name: "put",
      HostComputeEndpoints: backends.map((b) => ids[b]),
      FrontendVIPs: [PUT_VIP],
      PortMappings: [
        { Protocol: 6, InternalPort: 9000, ExternalPort: 90 },
        { Protocol: 6, InternalPort: 8080, ExternalPort: 80 },
      ],
    });
    await lab.d.ok("POST", "/loadbalancers", body(["b1"]));
    const { echo, echoed } = echoClient(PUT_VIP, 90);
    await echo("before");
    expect(echoed()).toContain("before");

    const added = await lab.d.api("PUT", "/loadbalancers/put", body(["b1", "b2"]));
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    await echo("after the PUT");
    expect(echoed()).toContain("after the PUT");
    const spread = await ask(lab.t.ext, PUT_VIP, 80, 40);
    expect(new Set(spread)).toEqual(new Set(["b1", "b2"]));

    await lab.d.ok("PUT", "/loadbalancers/put", body(["b2"]));
    const after = await ask(lab.t.ext, PUT_VIP, 80, 30);
    expect(after).toHaveLength(30);
    expect(after).not.toContain("b1");
    expect(await lab.plan()).toEqual([]);
    await lab.d.ok("DELETE", "/loadbalancers/put");
  });

  it("serves a NodePort (no VIP) on every host address, later ones too, keeping the client's address", async () => {
    const nodePort = (name: string, port: number, internal: number, flags: number, lbFlags = 0) =>
      lab.d.api("POST", "/loadbalancers", {
        Name: name,
        HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
        FrontendVIPs: [],
        PortMappings: [{ Protocol: 6, InternalPort: internal, ExternalPort: port, Flags: flags }],
        Flags: lbFlags,
      });
    // LocalRoutedVIP (2) on a NodePort: the host reaches it too.
    expect((await nodePort("np", 30080, 8082, 2)).status).toBe(201);
    expect((await nodePort("np-outside", 30081, 8082, 0)).status).toBe(201);
    expect((await nodePort("np6", 30082, 8083, 0, 2)).status).toBe(201);
    const peers = async (ns: string, address: string, port: number): Promise<string[]> =>
      (await ask(ns, address, port, 6)).map((answer) => {
        const [name, , peer] = answer.split(" ");
        expect(BACKENDS).toContain(name);
        return peer ?? "";
      });
    // The backend sees the client's own address (externalTrafficPolicy Local: the backends are local).
    expect(new Set(await peers(lab.t.ext, lab.t.hostIp4, 30080))).toEqual(new Set([lab.t.extIp4]));
    expect(await peers(lab.t.ext, lab.t.hostIp4, 30081)).toHaveLength(6);
    expect(await peers(lab.t.host, lab.t.hostIp4, 30080)).toHaveLength(6);
    expect(await ask(lab.t.host, lab.t.hostIp4, 30081, 1)).toEqual([]);
    const six = await peers(lab.t.ext, lab.t.hostIp6, 30082);
    expect(six.map((p) => new Address6(p.slice(1, -1)).correctForm())).toEqual(Array(6).fill(lab.t.extIp6));
    // An address the host gets later serves the NodePort at once: nothing is written per address.
    await must(inNs(lab.t.host, ["ip", "addr", "add", "192.0.2.200/32", "dev", "lo"]));
    await must(["ip", "-n", lab.t.ext, "route", "add", "192.0.2.200/32", "via", lab.t.hostIp4]);
    expect(await peers(lab.t.ext, "192.0.2.200", 30081)).toHaveLength(6);
    // A second NodePort on the same port and family, or an ILB without a VIP, is refused.
    const again = await nodePort("np-again", 30081, 8080, 0);
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toContain("PortMappings[0].ExternalPort");
    expect((await nodePort("np-ilb", 30083, 8080, 1)).status).toBe(400);
    expect(await lab.plan()).toEqual([]);
    for (const name of ["np", "np-outside", "np6"]) await lab.d.ok("DELETE", `/loadbalancers/${name}`);
    expect(await ask(lab.t.ext, lab.t.hostIp4, 30081, 1)).toEqual([]);
    await must(inNs(lab.t.host, ["ip", "addr", "del", "192.0.2.200/32", "dev", "lo"]));
    await must(["ip", "-n", lab.t.ext, "route", "del", "192.0.2.200/32"]);
    expect(await lab.plan()).toEqual([]);
  });

  it("shows a NodePort's backends its SourceVIP, and no other DNAT of the port; an endpoint cannot map its port", async () => {
    const np = (name: string, port: number, internal: number, extra: Record<string, unknown>) =>
      lab.d.ok("POST", "/loadbalancers", {
        Name: name,
        HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
        FrontendVIPs: [],
        PortMappings: [{ Protocol: 6, InternalPort: internal, ExternalPort: port }],
        ...extra,
      });
    await np("np-snat", 30090, 8082, { SourceVIP: "203.0.113.5" });
    await np("np-snat6", 30090, 8083, { SourceVIP: "2001:db8:200::5", Flags: 2 });
    await np("np-plain", 30091, 8082, {});
    // A VIP load balancer with the NodePort's number, and an endpoint's port mapping beside it.
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "vip-same-port",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: ["198.51.100.17"],
      PortMappings: [{ Protocol: 6, InternalPort: 8082, ExternalPort: 30090 }],
    });
    const mapped = (port: number) => ({
      Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 8082, ExternalPort: port } }],
    });
    await lab.container("pm", "n", mapped(30092));
    const server = spawn(
      "nsenter",
      [
        `--net=/run/netns/${lab.t.ns("pm")}`,
        "socat",
        "TCP4-LISTEN:8082,fork,reuseaddr",
        "SYSTEM:echo pm $SOCAT_SOCKADDR $SOCAT_PEERADDR",
      ],
      { stdio: "ignore" },
    );
    lab.cleanup.add(async () => {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    });
    const peers = async (address: string, port: number, count = 6): Promise<string[]> =>
      (await ask(lab.t.ext, address, port, count)).map((answer) => answer.split(" ")[2] ?? "");
    const v6 = (peer: string): string => new Address6(peer.slice(1, -1)).correctForm();
    const snatted = async (): Promise<void> => {
      expect(await peers(lab.t.hostIp4, 30090)).toEqual(Array(6).fill("203.0.113.5"));
      expect((await peers(lab.t.hostIp6, 30090)).map(v6)).toEqual(Array(6).fill("2001:db8:200::5"));
    };
    await snatted();
    expect(await peers(lab.t.hostIp4, 30091)).toEqual(Array(6).fill(lab.t.extIp4));
    expect(await peers("198.51.100.17", 30090)).toEqual(Array(6).fill(lab.t.extIp4));
    // The port mapping's container was just made: its server may still be starting.
    expect(await within(5000, async () => (await peers(lab.t.hostIp4, 30092, 1)).length === 1)).toBeDefined();
    expect(await peers(lab.t.hostIp4, 30092, 3)).toEqual(Array(3).fill(lab.t.extIp4));
    expect(await lab.plan()).toEqual([]);

    // A port mapping made after the NodePort, on its port, is refused and changes nothing.
    const endpoints = await lab.d.ok<unknown[]>("GET", "/endpoints");
    const clash = await lab.d.api("POST", "/endpoints", {
      Name: "pm2",
      HostComputeNetwork: "n",
      ...mapped(30090),
    });
    expect({ status: clash.status, body: clash.body }).toMatchObject({
      status: 409,
      body: { error: { field: "Policies[0].Settings" } },
    });
    expect(JSON.stringify(clash.body)).toContain('NodePort of load balancer \\"np-snat\\"');
    expect(await lab.d.ok<unknown[]>("GET", "/endpoints")).toEqual(endpoints);

    await lab.d.kill("SIGKILL");
    await lab.d.restart();
    expect(await lab.plan()).toEqual([]);
    await snatted();
    for (const name of ["np-snat", "np-snat6", "np-plain", "vip-same-port"])
      await lab.d.ok("DELETE", `/loadbalancers/${name}`);
    await lab.d.ok("DELETE", "/endpoints/pm");
    const nft = await must(inNs(lab.t.host, ["nft", "list", "table", "inet", "hostnet"]));
    expect(nft).not.toContain("203.0.113.5");
    expect(nft).not.toContain("2001:db8:200::5");
    expect(nft).not.toContain("30090");
    expect(await lab.plan()).toEqual([]);
  });

  it("forgets a UDP NodePort's flows of a removed backend, and all of them when it goes", async () => {
    await lab.d.ok("POST", "/loadbalancers", {
      Name: "np-udp",
      HostComputeEndpoints: BACKENDS.map((b) => ids[b]),
      FrontendVIPs: [],
      PortMappings: [{ Protocol: 17, InternalPort: 5353, ExternalPort: 30053 }],
      Flags: 2,
    });
    // One client port, so one UDP flow; asked again when a datagram is lost on a busy machine.
    const fromOnePort = async (): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        const to = `UDP6:[${lab.t.hostIp6}]:30053,sourceport=40054,reuseaddr`;
        const answer = (
          await run(inNs(lab.t.ext, ["socat", "-T", "0.5", "-", to]), { input: "q\n" })
        ).stdout.trim();
        if (answer !== "" || attempt === 4) return answer;
      }
    };
    const first = await fromOnePort();
    expect(BACKENDS).toContain(first);
    expect(await fromOnePort()).toBe(first);
    await lab.d.ok("POST", "/loadbalancers/np-udp/endpoints", {
      RequestType: "Remove",
      HostComputeEndpoints: [first],
    });
    const after = await fromOnePort();
    expect(BACKENDS).toContain(after);
    expect(after).not.toBe(first);
    const flows = (): Promise<string> =>
      must(inNs(lab.t.host, ["conntrack", "-L", "-f", "ipv6", "-p", "udp", "--orig-port-dst", "30053"]));
    expect(await flows()).toContain("mark=1048576");
    await lab.d.ok("DELETE", "/loadbalancers/np-udp");
    expect(await flows()).toBe("");
    expect(await lab.plan()).toEqual([]);
  });

  it("refuses bad input naming the field, and changes nothing", async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ FrontendVIPs: ["10.40.0.50"] }, 400, "FrontendVIPs[0]"],
      [{ HostComputeEndpoints: ["nobody"] }, 404, "HostComputeEndpoints[0]"],
      [{ FrontendVIPs: [VIP] }, 409, "FrontendVIPs[0]"],
      [
        { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 70000 }] },
        400,
        "PortMappings[0].ExternalPort",
      ],
      [{ Flags: 2 }, 400, "Flags"],
      [
        { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 8 }] },
        400,
        "PortMappings[0].Flags",
      ],
      [{ Flags: 1 }, 400, "PortMappings[0].InternalPort"],
      [
        { PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, Flags: 2 }] },
        400,
        "PortMappings[0].Flags",
      ],
      [{ AffinityTimeoutSeconds: 60 }, 400, "AffinityTimeoutSeconds"],
    ];
    for (const [patch, status, field] of cases) {
      const r = await lab.d.api("POST", "/loadbalancers", {
        HostComputeEndpoints: [ids["b1"]],
        FrontendVIPs: ["198.51.100.20"],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
        ...patch,
      });
      expect({ status: r.status, body: r.body }, field).toMatchObject({ status, body: { error: { field } } });
    }
    const web = await lab.d.ok("GET", "/loadbalancers/web");
    const put = await lab.d.api("PUT", "/loadbalancers/web", {
      HostComputeEndpoints: [ids["b1"], "nobody"],
      FrontendVIPs: [VIP],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    expect({ status: put.status, body: put.body }).toMatchObject({
      status: 404,
      body: { error: { field: "HostComputeEndpoints[1]" } },
    });
    expect(await lab.d.ok("GET", "/loadbalancers/web")).toEqual(web);
    expect(await lab.d.ok<unknown[]>("GET", "/loadbalancers")).toHaveLength(4);
    expect(await lab.plan()).toEqual([]);
  });

  it("goes away completely, also when a backend endpoint is deleted first", async () => {
    await lab.d.ok("DELETE", "/endpoints/b3");
    const web = await lab.d.ok<LbBody>("GET", "/loadbalancers/web");
    expect(web.HostComputeEndpoints).toHaveLength(2);
    expect(await ask(lab.t.ext, VIP, 80, 30)).not.toContain("b3");
    for (const name of ["web", "echo", "dns", "ilb"]) await lab.d.ok("DELETE", `/loadbalancers/${name}`);
    const nft = await must(inNs(lab.t.host, ["nft", "list", "table", "inet", "hostnet"]));
    expect(nft).not.toContain('comment "lb:');
    expect(nft).not.toContain("198.51.100.");
    expect(nft).not.toContain("2001:db8:100::");
    expect(await lab.plan()).toEqual([]);
  });
});
