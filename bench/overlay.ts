/**
 * bench/overlay: two hosts on an underlay, one hostnetd each with a shared etcd, one overlay network. Prints
 * (a) the time from the request that creates an endpoint on host A to the first UDP probe its container
 * receives from a container on host B (target, issue 8: median under 200 ms), against the same from a
 * container on host A itself, and (b) iperf3 throughput across the overlay against the same hosts' underlay.
 * Both baselines are measured in the same run; the latency series are interleaved, so load hits both alike.
 *
 *   node dist/bench/overlay.js [--n 50] [--seconds 5]
 *
 * It measures, it does not assert: it exits 0 when the target is missed, non-zero only on an error.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism, release } from "node:os";
import { parseArgs } from "node:util";
import { runBench, type BenchRun } from "./harness.js";
import type { TestDaemon } from "../test/helpers/daemon.js";
import { createUnderlay, startHostDaemons } from "../test/helpers/overlay-lab.js";
import { measureThroughput } from "../test/helpers/traffic.js";
import { median, percentile, round } from "./stats.js";

const TARGET_MS = 200;
const NETWORK = "ov1";
const SUBNET = "10.50.0.0/16";
const VNI = 4096;
const PROBE_PORT = 7000;
/** How long one sample may take before the run is declared broken rather than slow. */
const SAMPLE_TIMEOUT_MS = 10_000;
const POLL_MS = 5;

function usage(message: string): never {
  process.stderr.write(
    `bench/overlay: ${message}\nusage: node dist/bench/overlay.js [--n 50] [--seconds 5]\n`,
  );
  process.exit(2);
}

function count(option: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) usage(`--${option} must be an integer from 1 to ${max}`);
  return n;
}

let args: { n: string; seconds: string };
try {
  args = parseArgs({
    options: { n: { type: "string", default: "50" }, seconds: { type: "string", default: "5" } },
  }).values;
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
const N = count("n", args.n, 10_000);
const SECONDS = count("seconds", args.seconds, 600);

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes and with pino's `time`. */
const now = (): number => performance.timeOrigin + performance.now();
const NOW_JS = "(performance.timeOrigin + performance.now())";

/**
 * Prints `ready` once bound; answers each write on stdin with `armed`, then prints the arrival time of the
 * first datagram after it, and that probe's sequence number and send time for whoever debugs a slow sample.
 * Bound before any address exists, so neither its start nor its bind is timed.
 */
const LISTENER = `
const s = require("node:dgram").createSocket("udp4");
let armed = false;
s.on("message", (m) => {
  if (!armed) return;
  armed = false;
  process.stdout.write(${NOW_JS} + " " + m.toString() + "\\n");
});
process.stdin.on("data", () => { armed = true; process.stdout.write("armed\\n"); });
s.bind(${PROBE_PORT}, () => process.stdout.write("ready\\n"));
`;

/** A probe every millisecond to `address`, carrying its sequence number and send time. */
const sender = (address: string): string => `
const s = require("node:dgram").createSocket("udp4");
let seq = 0;
setInterval(() => s.send(seq++ + " " + ${NOW_JS}, ${PROBE_PORT}, ${JSON.stringify(address)}, () => undefined), 1);
`;

interface Process {
  /** The next line the process prints. */
  line(): Promise<string>;
  write(text: string): void;
  stop(): Promise<void>;
}

/** A node script in namespace `ns`, its stdout read line by line. */
function nodeIn(ns: string, script: string): Process {
  // nsenter execs node: the child's PID is the script's, so stopping it stops the script.
  const child: ChildProcess = spawn("nsenter", [`--net=/run/netns/${ns}`, process.execPath, "-e", script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let partial = "";
  child.stdout?.on("data", (b: Buffer) => {
    const parts = (partial + b.toString()).split("\n");
    partial = parts.pop() ?? "";
    for (const l of parts) {
      const w = waiting.shift();
      if (w === undefined) lines.push(l);
      else w(l);
    }
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    line: () => {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      return deadline(new Promise<string>((r) => waiting.push(r)), `a line from node in ${ns}`);
    },
    write: (text) => child.stdin?.write(text),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

async function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no ${what} within ${SAMPLE_TIMEOUT_MS} ms`)),
      SAMPLE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const end = performance.now() + SAMPLE_TIMEOUT_MS;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`${what} not within ${SAMPLE_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface EndpointBody {
  ID: string;
  IpConfigurations: { IpAddress: string }[];
}

interface ConvergeLine {
  time: number;
  durationMs: number;
}

/** hostnetd's converges of one endpoint, oldest first. */
function converges(d: TestDaemon, id: string): ConvergeLine[] {
  const scope = JSON.stringify([`ep:${id}`]);
  return (
    d
      .logs()
      .split("\n")
      // The last piece is empty, or a line hostnetd is still writing.
      .slice(0, -1)
      .flatMap((l): ConvergeLine[] => {
        if (!l.startsWith("{")) return [];
        const e = JSON.parse(l) as { msg?: string; scope?: unknown; time: number; durationMs: number };
        return e.msg === "converged" && JSON.stringify(e.scope) === scope ? [e] : [];
      })
  );
}

async function endpointWith(d: TestDaemon, address: string): Promise<string | undefined> {
  const eps = await d.ok<EndpointBody[]>("GET", "/endpoints");
  return eps.find((e) => e.IpConfigurations.some((c) => c.IpAddress === address))?.ID;
}

/** One sample, in ms from just before the create request. */
interface Sample {
  firstPacket: number;
  /** A's answer to the create request. */
  api: number;
  /** When A logged that its converge of the endpoint (veth, address, namespace) was done. */
  aProgrammed: number;
  /** A's converge of the endpoint; before it, A claimed the address in etcd. */
  aConverge: number;
  /** When B logged that its converge of the remote endpoint (FDB and neighbour entries) was done. */
  bProgrammed: number;
  /** B's converge of the remote endpoint. */
  bConverge: number;
}

/** A listening namespace on host A, with the address and MAC its endpoint gets each time. */
interface Target {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  readonly mac: string;
  readonly listener: Process;
}

/**
 * Creates `target`'s endpoint on A (create and attach in one request) while a sender probes its address,
 * waits for the first probe, then deletes the endpoint and waits until B has removed its remote copy, so
 * that every sample starts from the same state.
 */
async function sample(a: TestDaemon, b: TestDaemon, target: Target): Promise<Sample> {
  target.listener.write("arm\n");
  if ((await target.listener.line()) !== "armed") throw new Error(`listener in ${target.ns} not armed`);
  const t0 = now();
  const created = await a.ok<EndpointBody>("POST", "/endpoints", {
    Name: target.name,
    HostComputeNetwork: NETWORK,
    HostComputeNamespace: target.ns,
    IpConfigurations: [{ IpAddress: target.address }],
    MacAddress: target.mac,
  });
  const api = now() - t0;
  const firstPacket = Number((await target.listener.line()).split(" ")[0]) - t0;
  const remote = await until(`${target.address} on host B`, () => endpointWith(b, target.address));
  const bLine = await until(`host B's converge of ${target.address}`, () =>
    Promise.resolve(converges(b, remote)[0]),
  );
  await a.ok("DELETE", `/endpoints/${target.name}`);
  // Gone from B's store and out of its kernel: its second converge of the remote endpoint is the removal.
  await until(`${target.address} gone from host B`, async () =>
    (await endpointWith(b, target.address)) === undefined && converges(b, remote).length >= 2
      ? true
      : undefined,
  );
  const aLine = converges(a, created.ID)[0];
  return {
    firstPacket,
    api,
    aProgrammed: (aLine?.time ?? NaN) - t0,
    aConverge: aLine?.durationMs ?? NaN,
    bProgrammed: bLine.time - t0,
    bConverge: bLine.durationMs,
  };
}

interface Series {
  readonly count: number;
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

function series(samples: readonly number[]): Series {
  return {
    count: samples.length,
    median: round(median(samples)),
    p90: round(percentile(samples, 90)),
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
  };
}

const medianOf = (samples: readonly Sample[], key: keyof Sample): number =>
  round(median(samples.map((s) => s[key])));
const ms = (n: number): string => `${n.toFixed(2).padStart(8)} ms`;
const out = (line = ""): boolean => process.stdout.write(`${line}\n`);

function printSeries(title: string, s: Series): void {
  out(title);
  out(`  median ${ms(s.median)}   p90 ${ms(s.p90)}   min ${ms(s.min)}   max ${ms(s.max)}`);
}

/** Medians of what the first probe waited for, from just before the request; B only for B's probes. */
function printBreakdown(samples: readonly Sample[], fromB: boolean): void {
  const m = (key: keyof Sample): string => ms(medianOf(samples, key));
  out(`  A: programmed ${m("aProgrammed")} (converge ${m("aConverge")}), answered ${m("api")}`);
  if (fromB) out(`  B: programmed ${m("bProgrammed")} (converge ${m("bConverge")})`);
}

async function main({ cleanup, ownPrefix }: BenchRun): Promise<void> {
  const machine = { kernel: release(), cpus: availableParallelism(), node: process.version };
  out(`bench/overlay: N=${N} per latency series, iperf3 for ${SECONDS} s per path`);
  out(`machine: kernel ${machine.kernel}, ${machine.cpus} CPUs, node ${machine.node}`);

  const u = await createUnderlay(2);
  ownPrefix(u.prefix);
  cleanup.add(() => u.destroy());
  const [hostA, hostB] = u.hosts;
  if (hostA === undefined || hostB === undefined) throw new Error("the underlay has fewer than 2 hosts");
  const [a, b] = await startHostDaemons(cleanup, u.hosts, ["--etcd", u.etcdUrl]);
  if (a === undefined || b === undefined) throw new Error("fewer than 2 hostnetds");
  await a.ok("POST", "/networks", {
    Name: NETWORK,
    Type: "Overlay",
    Ipams: [{ Subnets: [{ IpAddressPrefix: SUBNET }] }],
    Policies: [{ Type: "VSID", Settings: { IsolationId: VNI } }],
  });
  await until("the overlay network on host B", async () =>
    (await b.api("GET", `/networks/${NETWORK}`)).status === 200 ? true : undefined,
  );

  /** A container on `d`'s host with an endpoint on the overlay; its namespace's name. */
  const container = async (d: TestDaemon, name: string, address?: string): Promise<string> => {
    const ns = `${u.prefix}${name}`;
    await d.ok("POST", "/namespaces", { Name: ns });
    if (address !== undefined)
      await d.ok("POST", "/endpoints", {
        Name: name,
        HostComputeNetwork: NETWORK,
        HostComputeNamespace: ns,
        IpConfigurations: [{ IpAddress: address }],
      });
    return ns;
  };
  const target = async (name: string, address: string, mac: string): Promise<Target> => {
    const ns = await container(a, name);
    const listener = nodeIn(ns, LISTENER);
    cleanup.add(() => listener.stop());
    if ((await listener.line()) !== "ready") throw new Error(`listener in ${ns} did not start`);
    return { name, ns, address, mac, listener };
  };
  // Each sender probes its own target, so the two series need not stop each other's probes.
  const local = await target("tl", "10.50.1.1", "02:00:0a:32:01:01");
  const remote = await target("tr", "10.50.1.2", "02:00:0a:32:01:02");
  const senders = [
    nodeIn(await container(a, "sa", "10.50.0.10"), sender(local.address)),
    nodeIn(await container(b, "sb", "10.50.0.20"), sender(remote.address)),
  ];
  for (const s of senders) cleanup.add(() => s.stop());
  out(
    `hostnetd on ${hostA.ns} (A, ${hostA.address}) and ${hostB.ns} (B, ${hostB.address}), etcd ${u.etcdUrl}`,
  );
  out(`overlay network ${NETWORK} (${SUBNET}, VNI ${VNI}); senders probe every 1 ms`);

  // Untimed: the senders' first probes wait for ARP, which Linux retries once a second; a target's
  // address and MAC stay the same from one sample to the next, so after this they are in the senders' caches.
  await sample(a, b, local);
  await sample(a, b, remote);
  const sameHost: Sample[] = [];
  const crossHost: Sample[] = [];
  for (let i = 0; i < N; i++) {
    sameHost.push(await sample(a, b, local));
    crossHost.push(await sample(a, b, remote));
  }
  for (const s of senders) await s.stop();

  // Throughput, the overlay between the latency targets' namespaces, the underlay between the hosts'.
  await a.ok("POST", "/endpoints", {
    Name: remote.name,
    HostComputeNetwork: NETWORK,
    HostComputeNamespace: remote.ns,
    IpConfigurations: [{ IpAddress: remote.address }],
  });
  const client = await container(b, "ib", "10.50.0.21");
  const underlay = await measureThroughput(hostA.ns, hostB.ns, hostA.address, { seconds: SECONDS });
  const overlay = await measureThroughput(remote.ns, client, remote.address, { seconds: SECONDS });

  const cross = series(crossHost.map((s) => s.firstPacket));
  const same = series(sameHost.map((s) => s.firstPacket));
  const breakdown = (samples: readonly Sample[], fromB: boolean): Record<string, number> => ({
    apiMedian: medianOf(samples, "api"),
    aProgrammedMedian: medianOf(samples, "aProgrammed"),
    aConvergeMedian: medianOf(samples, "aConverge"),
    ...(fromB
      ? {
          bProgrammedMedian: medianOf(samples, "bProgrammed"),
          bConvergeMedian: medianOf(samples, "bConverge"),
        }
      : {}),
  });
  const ratios = {
    crossOverSameHost: round(
      median(crossHost.map((s) => s.firstPacket)) / median(sameHost.map((s) => s.firstPacket)),
    ),
    overlayOverUnderlay: round(overlay / underlay),
  };
  const gbit = (bytesPerSecond: number): number => round((bytesPerSecond * 8) / 1e9);
  const targetMet = cross.median < TARGET_MS;

  out();
  printSeries(`endpoint created on A -> first probe from a container on B, ${N} samples`, cross);
  printBreakdown(crossHost, true);
  out();
  printSeries(`endpoint created on A -> first probe from a container on A (baseline), ${N} samples`, same);
  printBreakdown(sameHost, false);
  out();
  out(`cross-host / same-host, medians ${ratios.crossOverSameHost.toFixed(2).padStart(7)}`);
  out();
  out(`iperf3, one TCP stream for ${SECONDS} s`);
  out(`  underlay (host A <- host B)               ${gbit(underlay).toFixed(2).padStart(7)} Gbit/s`);
  out(`  overlay (container on A <- container on B) ${gbit(overlay).toFixed(2).padStart(6)} Gbit/s`);
  out(`  overlay / underlay                        ${ratios.overlayOverUnderlay.toFixed(2).padStart(7)}`);
  out();
  out(`target: cross-host median < ${TARGET_MS} ms: ${targetMet ? "met" : "MISSED"}`);
  out(
    JSON.stringify({
      bench: "overlay",
      unit: "ms",
      n: N,
      seconds: SECONDS,
      machine,
      crossHost: { ...cross, ...breakdown(crossHost, true) },
      sameHost: { ...same, ...breakdown(sameHost, false) },
      throughputGbit: { underlay: gbit(underlay), overlay: gbit(overlay) },
      ratios,
      targets: { crossHostMedianMs: TARGET_MS, crossHostMedianMet: targetMet },
    }),
  );
}

await runBench("overlay", main);
