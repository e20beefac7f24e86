/**
 * bench/dns: hostnet's resolver against Podman's aardvark-dns in the same run, each with the same container
 * names on a network of its own and the same dnsmasq upstream, queried by dnsperf from a client namespace on
 * that network. Prints queries per second (unlimited load) and p50/p99 latency (at a fixed rate) for
 * container names and for forwarded names, with the ratios hostnet/aardvark; then hostnet's time from an
 * endpoint's creation to its name answering, and the queries lost while endpoints come and go under load
 * (aardvark's too, reloading its configuration as netavark makes it). Targets (issue 18) are printed, never
 * asserted.
 *
 *   node dist/bench/dns.js [--names 1000] [--seconds 5] [--rate 2000] [--creates 50] [--churn 100] [--cpu-prof DIR]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDnsmasq } from "../test/helpers/dnsmasq.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { within } from "../test/helpers/poll.js";
import { inNs, must, run } from "../test/helpers/run.js";
import { onPath, processAlive } from "../test/helpers/system.js";
import { createTopology } from "../test/helpers/topology.js";
import { median, percentile, round } from "./stats.js";

const AARDVARK = "/usr/lib/podman/aardvark-dns";
/** hostnet's network (its resolver on the gateway) and aardvark's (hostnet's resolver off, aardvark on it). */
const HOSTNET = { name: "hn", subnet: "10.212.0.0/16", gateway: "10.212.0.1" };
const AARDVARK_NET = { name: "aa", subnet: "10.213.0.0/16", gateway: "10.213.0.1" };
const UPSTREAM_DOMAIN = "upstream.test";
const TARGETS = { p99Ms: 1, resolvableMs: 50 };
/** How often the probe asks for a name it waits for. */
const PROBE_MS = 2;
/** What dnsperf's run under churn may take at most: it is stopped (SIGINT) once the churn is done. */
const CHURN_LOAD_LIMIT_S = 600;
/** How long a load runs before the churn starts and after it ends: dnsperf is up, and the last change has taken. */
const CHURN_MARGIN_MS = 1000;

function usage(message: string): never {
  process.stderr.write(
    `bench/dns: ${message}\nusage: node dist/bench/dns.js [--names 1000] [--seconds 5] [--rate 2000] [--creates 50] [--churn 100] [--cpu-prof DIR]\n`,
  );
  process.exit(2);
}

function count(option: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) usage(`--${option} must be an integer from 1 to ${max}`);
  return n;
}

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        names: { type: "string", default: "1000" },
        seconds: { type: "string", default: "5" },
        rate: { type: "string", default: "2000" },
        creates: { type: "string", default: "50" },
        churn: { type: "string", default: "100" },
        "cpu-prof": { type: "string" },
      },
    }).values;
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
})();
const NAMES = count("names", parsed.names, 60_000);
const SECONDS = count("seconds", parsed.seconds, 600);
const RATE = count("rate", parsed.rate, 1_000_000);
const CREATES = count("creates", parsed.creates, 10_000);
const CHURN = count("churn", parsed.churn, 10_000);
/** Where hostnetd writes its CPU profile (node --cpu-prof) when it stops, if given. */
const CPU_PROF = parsed["cpu-prof"];
const HOSTNETD = join(import.meta.dirname, "../bin/hostnetd.js");

/** Milliseconds to three decimals: DNS answers take tenths of one. */
const microseconds = (ms: number): number => Math.round(ms * 1000) / 1000;

const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** Host number i (from 10, past the gateway) of a /16 as an address. */
const hostAddress = (prefix: string, i: number): string =>
  `${prefix}.${String((i + 10) >> 8)}.${String((i + 10) & 255)}`;

/** What dnsperf reports of one run; latencies (ms) only with `-v`. */
interface PerfRun {
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly qps: number;
  readonly rcodes: string;
  readonly latenciesMs: readonly number[];
}

const field = (text: string, label: string): string =>
  new RegExp(`^\\s*${label}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";

function parsePerf(text: string): PerfRun {
  const latenciesMs = [...text.matchAll(/^> \S+ .* (\d+\.\d+)$/gm)].map((m) => Number(m[1]) * 1000);
  const run = {
    sent: Number.parseInt(field(text, "Queries sent"), 10),
    completed: Number.parseInt(field(text, "Queries completed"), 10),
    lost: Number.parseInt(field(text, "Queries lost"), 10),
    qps: Number.parseFloat(field(text, "Queries per second")),
    rcodes: field(text, "Response codes"),
    latenciesMs,
  };
  if (Number.isNaN(run.sent) || Number.isNaN(run.lost) || Number.isNaN(run.qps))
    throw new Error(`dnsperf printed no statistics:\n${text.slice(-2000)}`);
  return run;
}

/** The dnsperf runs under way, which a bench stopped early stops too (a churn's load runs for minutes). */
const runningPerfs = new Set<ChildProcess>();

interface PerfLoad {
  /** Stops the load early (SIGINT: dnsperf prints its statistics) and resolves with them. */
  stop(): Promise<PerfRun>;
  readonly done: Promise<PerfRun>;
}

/** dnsperf in `ns` against `server`, `-l seconds`, `-Q rate` when given, `-v` for each query's latency. */
function dnsperf(
  ns: string,
  server: string,
  queries: string,
  opts: { seconds: number; rate?: number; verbose?: boolean },
): PerfLoad {
  const args = ["-s", server, "-d", queries, "-l", String(opts.seconds)];
  if (opts.rate !== undefined) args.push("-Q", String(opts.rate));
  if (opts.verbose === true) args.push("-v");
  // nsenter execs dnsperf: the child's PID is dnsperf's, which a SIGINT stops with its statistics.
  const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "dnsperf", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  runningPerfs.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<PerfRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      runningPerfs.delete(child);
      if (code !== 0 && signal === null)
        reject(new Error(`dnsperf exited ${String(code)}: ${stderr.trim()}`));
      else
        try {
          resolve(parsePerf(stdout));
        } catch (err) {
          reject(new Error(`${err instanceof Error ? err.message : String(err)}\n${stderr.trim()}`));
        }
    });
  });
  // A run killed by a bench stopped early rejects with no one waiting: not a crash in the middle of cleanup.
  done.catch(() => undefined);
  return {
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return done;
    },
  };
}

interface Figures {
  readonly qps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lost: number;
  readonly rcodes: string;
}

/** Throughput at unlimited load, then latency at `RATE` queries per second. */
async function measure(ns: string, server: string, queries: string): Promise<Figures> {
  const load = await dnsperf(ns, server, queries, { seconds: SECONDS }).done;
  const paced = await dnsperf(ns, server, queries, { seconds: SECONDS, rate: RATE, verbose: true }).done;
  return {
    qps: round(load.qps),
    p50Ms: microseconds(percentile(paced.latenciesMs, 50)),
    p99Ms: microseconds(percentile(paced.latenciesMs, 99)),
    lost: load.lost + paced.lost,
    rcodes: paced.rcodes,
  };
}

/** aardvark-dns 1.4's configuration of one network: its listen address and upstream, one line a container. */
function aardvarkConfig(entries: readonly { address: string; name: string }[], upstream: string): string {
  const lines = entries.map((e, i) => `${i.toString(16).padStart(64, "0")} ${e.address}  ${e.name}`);
  return `${AARDVARK_NET.gateway} ${upstream}\n${lines.join("\n")}\n`;
}

interface Aardvark {
  readonly pid: number;
  /** Writes the network's file anew (by rename, as whole) and has aardvark read it (SIGHUP), as netavark does. */
  reload(text: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * aardvark-dns in `ns` serving one network from the config dir `dir`: `run` forks, the parent exits once the
 * server is up and its PID is in DIR/aardvark.pid, which is how it is stopped and told to reload.
 */
async function startAardvark(ns: string, dir: string, text: string): Promise<Aardvark> {
  const file = join(dir, AARDVARK_NET.name);
  await writeFile(file, text);
  await must(inNs(ns, [AARDVARK, "--config", dir, "-p", "53", "run"]));
  const pid = Number((await readFile(join(dir, "aardvark.pid"), "utf8")).trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`aardvark-dns wrote no PID to ${dir}`);
  // By its command line too: a PID it no longer has may be another process's by then.
  const alive = (): boolean => processAlive(pid, "aardvark-dns");
  return {
    pid,
    async reload(next) {
      await writeFile(`${file}.new`, next);
      await rename(`${file}.new`, file);
      process.kill(pid, "SIGHUP");
    },
    async stop() {
      if (!alive()) return;
      process.kill(pid, "SIGTERM");
      if ((await within(5000, () => Promise.resolve(!alive()))) === undefined) process.kill(pid, "SIGKILL");
    },
  };
}

/** The probe (dns-probe.ts) in `ns`: resolves with the wall-clock time `name` first answered. */
function startProbe(
  ns: string,
  server: string,
): { ask(name: string): Promise<number>; stop(): Promise<void> } {
  const child: ChildProcess = spawn(
    "nsenter",
    [
      `--net=/run/netns/${ns}`,
      process.execPath,
      new URL("./dns-probe.js", import.meta.url).pathname,
      server,
      String(PROBE_MS),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const waiting = new Map<string, (at: number) => void>();
  if (child.stdout !== null)
    createInterface({ input: child.stdout }).on("line", (line) => {
      const [name = "", at = ""] = line.split(" ");
      waiting.get(name)?.(Number(at));
      waiting.delete(name);
    });
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  return {
    ask: (name) =>
      new Promise<number>((resolve) => {
        waiting.set(name, resolve);
        child.stdin?.write(`${name}\n`);
      }),
    async stop() {
      child.stdin?.end();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

const now = (): number => performance.timeOrigin + performance.now();

interface EndpointBody {
  readonly IpConfigurations: readonly { IpAddress: string }[];
}

const endpoint = (d: TestDaemon, name: string): Promise<EndpointBody> =>
  d.ok<EndpointBody>("POST", "/endpoints", { Name: name, HostComputeNetwork: HOSTNET.name });

const settle = (): Promise<unknown> => new Promise((r) => setTimeout(r, CHURN_MARGIN_MS));

const verdict = (met: boolean): string => (met ? "PASS" : "FAIL");

await runBench("dns", async ({ cleanup, ownPrefix }) => {
  for (const tool of ["dnsperf", "dnsmasq"])
    if (!onPath(tool)) throw new Error(`${tool} is missing: scripts/install-deps.sh installs it`);
  if (
    !(await readFile(AARDVARK).then(
      () => true,
      () => false,
    ))
  )
    throw new Error(`${AARDVARK} is missing: it comes with Debian's podman (or aardvark-dns) package`);
  const aardvarkVersion = (await must([AARDVARK, "--version"])).trim();
  const help = await run(["dnsperf", "-h"]);
  const dnsperfVersion = /Version (\S+)/.exec(help.stdout + help.stderr)?.[1] ?? "?";
  const machine = {
    kernel: release(),
    cpus: availableParallelism(),
    node: process.version,
    aardvark: aardvarkVersion,
    dnsperf: dnsperfVersion,
    loadAtStart: loadavg().map(round),
  };
  out(`bench/dns: ${NAMES} names each; ${SECONDS} s per dnsperf run, latency at ${RATE} queries/s`);
  out(
    `machine: kernel ${machine.kernel}, ${machine.cpus} CPUs, node ${machine.node}, ${aardvarkVersion}, ` +
      `dnsperf ${dnsperfVersion}, load ${machine.loadAtStart.join(" ")}`,
  );

  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  cleanup.add(async () => {
    const exits = [...runningPerfs].map((c) => new Promise((done) => c.once("close", done)));
    for (const c of runningPerfs) c.kill("SIGKILL");
    await Promise.all(exits);
  });
  const dir = await mkdtemp(join(tmpdir(), "hostnet-bench-dns-"));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));

  // The upstream both resolvers forward to, with names only it knows.
  const forwarded = Array.from({ length: NAMES }, (_, i) => `f${String(i)}.${UPSTREAM_DOMAIN}`);
  cleanup.track(
    await startDnsmasq(
      t.ext,
      t.extIp4,
      Object.fromEntries(forwarded.map((n, i) => [n, hostAddress("198.18", i)])),
    ),
  );

  const d = await startDaemon(
    t.host,
    ["--no-default-network"],
    CPU_PROF === undefined
      ? {}
      : { hostnetd: [process.execPath, "--cpu-prof", "--cpu-prof-dir", CPU_PROF, HOSTNETD] },
  );
  cleanup.add(() => d.stop());
  const subnet = (s: string) => ({ Ipams: [{ Subnets: [{ IpAddressPrefix: s }] }] });
  await d.ok("POST", "/networks", {
    Name: HOSTNET.name,
    ...subnet(HOSTNET.subnet),
    Dns: { ServerList: [t.extIp4] },
  });
  await d.ok("POST", "/networks", {
    Name: AARDVARK_NET.name,
    ...subnet(AARDVARK_NET.subnet),
    DnsResolver: false,
  });
  const clients = { hostnet: t.ns("hnc"), aardvark: t.ns("aac") };
  await d.ok("POST", "/namespaces", { Name: clients.hostnet });
  await d.ok("POST", "/namespaces", { Name: clients.aardvark });
  await d.ok("POST", "/endpoints", {
    Name: "client",
    HostComputeNetwork: HOSTNET.name,
    HostComputeNamespace: clients.hostnet,
  });
  const aaClient = await d.ok<EndpointBody>("POST", "/endpoints", {
    Name: "aaclient",
    HostComputeNetwork: AARDVARK_NET.name,
    HostComputeNamespace: clients.aardvark,
  });

  const started = performance.now();
  for (let i = 0; i < NAMES; i++) await endpoint(d, `c${String(i)}`);
  out(`hostnet: ${NAMES} endpoints created in ${round((performance.now() - started) / 1000)} s`);

  // aardvark knows a client only by its address: the client is one of its containers.
  const containers = [
    { address: aaClient.IpConfigurations[0]?.IpAddress ?? "", name: "client" },
    ...Array.from({ length: NAMES }, (_, i) => ({
      address: hostAddress("10.213", i + 1),
      name: `c${String(i)}`,
    })),
  ];
  // A directory of its own: aardvark reads every file in it as a network's.
  const aardvarkDir = join(dir, "aardvark");
  await mkdir(aardvarkDir);
  const aardvark = await startAardvark(t.host, aardvarkDir, aardvarkConfig(containers, t.extIp4));
  cleanup.add(() => aardvark.stop());
  out(`aardvark-dns: PID ${aardvark.pid}, ${NAMES} names on ${AARDVARK_NET.gateway}`);

  const queries = { names: join(dir, "names.txt"), forwarded: join(dir, "forwarded.txt") };
  await writeFile(queries.names, Array.from({ length: NAMES }, (_, i) => `c${String(i)} A\n`).join(""));
  await writeFile(queries.forwarded, forwarded.map((n) => `${n} A\n`).join(""));

  const sides = {
    hostnet: { ns: clients.hostnet, server: HOSTNET.gateway },
    aardvark: { ns: clients.aardvark, server: AARDVARK_NET.gateway },
  };
  const results = {} as Record<"names" | "forwarded", Record<"hostnet" | "aardvark", Figures>>;
  for (const kind of ["names", "forwarded"] as const) {
    const of = {} as Record<"hostnet" | "aardvark", Figures>;
    for (const side of ["hostnet", "aardvark"] as const)
      of[side] = await measure(sides[side].ns, sides[side].server, queries[kind]);
    results[kind] = of;
    for (const side of ["hostnet", "aardvark"] as const) {
      const f = of[side];
      out(
        `${kind === "names" ? "container names" : "forwarded names"}, ${side}: ${f.qps} queries/s; ` +
          `p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms at ${RATE}/s; lost ${f.lost}; ${f.rcodes}`,
      );
    }
  }

  // Created -> resolvable: the probe asks from before the request until the name answers.
  const probe = startProbe(clients.hostnet, HOSTNET.gateway);
  cleanup.add(() => probe.stop());
  // Not timed: the probe's start (Node's) and its first exchange.
  await probe.ask("client");
  const afterAnswer: number[] = [];
  const afterSend: number[] = [];
  for (let k = 0; k < CREATES; k++) {
    const name = `new${String(k)}`;
    const resolved = probe.ask(name);
    const sent = now();
    await endpoint(d, name);
    const answered = now();
    const at = await resolved;
    afterAnswer.push(Math.max(0, at - answered));
    afterSend.push(at - sent);
    await d.ok("DELETE", `/endpoints/${name}`);
  }
  await probe.stop();

  // Churn under load: hostnet's endpoints through the API; aardvark's as netavark changes them (file, SIGHUP).
  const hostnetLoad = dnsperf(clients.hostnet, HOSTNET.gateway, queries.names, {
    seconds: CHURN_LOAD_LIMIT_S,
    rate: RATE,
  });
  await settle();
  const churnStarted = performance.now();
  for (let k = 0; k < CHURN; k++) await endpoint(d, `churn${String(k)}`);
  for (let k = 0; k < CHURN; k++) await d.ok("DELETE", `/endpoints/churn${String(k)}`);
  const hostnetChurnS = (performance.now() - churnStarted) / 1000;
  await settle();
  const hostnetChurn = await hostnetLoad.stop();

  const aardvarkLoad = dnsperf(clients.aardvark, AARDVARK_NET.gateway, queries.names, {
    seconds: CHURN_LOAD_LIMIT_S,
    rate: RATE,
  });
  /** aardvark's file with the first k churn containers besides the others. */
  const withChurn = (k: number): string =>
    aardvarkConfig(
      [
        ...containers,
        ...Array.from({ length: k }, (_, j) => ({
          address: hostAddress("10.213", NAMES + 1 + j),
          name: `churn${String(j)}`,
        })),
      ],
      t.extIp4,
    );
  await settle();
  const aardvarkStarted = performance.now();
  for (let k = 1; k <= CHURN; k++) await aardvark.reload(withChurn(k));
  for (let k = CHURN - 1; k >= 0; k--) await aardvark.reload(withChurn(k));
  const aardvarkChurnS = (performance.now() - aardvarkStarted) / 1000;
  await settle();
  const aardvarkChurn = await aardvarkLoad.stop();
  const loadAtEnd = loadavg().map(round);

  const names = results.names;
  const figures = {
    names: results.names,
    forwarded: results.forwarded,
    ratios: {
      namesQps: round(names.hostnet.qps / names.aardvark.qps),
      namesP99: round(names.hostnet.p99Ms / names.aardvark.p99Ms),
      forwardedQps: round(results.forwarded.hostnet.qps / results.forwarded.aardvark.qps),
      forwardedP99: round(results.forwarded.hostnet.p99Ms / results.forwarded.aardvark.p99Ms),
    },
    resolvable: {
      count: afterAnswer.length,
      medianAfterAnswerMs: round(median(afterAnswer)),
      p90AfterAnswerMs: round(percentile(afterAnswer, 90)),
      medianAfterSendMs: round(median(afterSend)),
      p90AfterSendMs: round(percentile(afterSend, 90)),
    },
    churn: {
      endpoints: CHURN,
      hostnet: { seconds: round(hostnetChurnS), sent: hostnetChurn.sent, lost: hostnetChurn.lost },
      aardvark: { seconds: round(aardvarkChurnS), sent: aardvarkChurn.sent, lost: aardvarkChurn.lost },
    },
  };
  const targets = {
    qpsAtLeastAardvark: names.hostnet.qps >= names.aardvark.qps,
    namesP99Under1Ms: names.hostnet.p99Ms < TARGETS.p99Ms,
    resolvableUnder50Ms: figures.resolvable.medianAfterAnswerMs < TARGETS.resolvableMs,
    noLostQueriesUnderChurn: hostnetChurn.lost === 0,
  };
  out(
    `ratio hostnet/aardvark: container names ${figures.ratios.namesQps}x queries/s, p99 ${figures.ratios.namesP99}x; ` +
      `forwarded ${figures.ratios.forwardedQps}x queries/s, p99 ${figures.ratios.forwardedP99}x`,
  );
  out(
    `created -> resolvable (${CREATES}): median ${figures.resolvable.medianAfterAnswerMs} ms after the answer ` +
      `(p90 ${figures.resolvable.p90AfterAnswerMs}), ${figures.resolvable.medianAfterSendMs} ms after the request ` +
      `(p90 ${figures.resolvable.p90AfterSendMs})`,
  );
  out(
    `${CHURN} endpoints created and deleted under ${RATE} queries/s: hostnet lost ${hostnetChurn.lost} of ` +
      `${hostnetChurn.sent} (${figures.churn.hostnet.seconds} s); aardvark (file + SIGHUP each) lost ` +
      `${aardvarkChurn.lost} of ${aardvarkChurn.sent} (${figures.churn.aardvark.seconds} s)`,
  );
  out(`targets:`);
  out(`  queries/s >= aardvark's (container names): ${verdict(targets.qpsAtLeastAardvark)}`);
  out(`  p99 < ${TARGETS.p99Ms} ms (container names): ${verdict(targets.namesP99Under1Ms)}`);
  out(`  created -> resolvable median < ${TARGETS.resolvableMs} ms: ${verdict(targets.resolvableUnder50Ms)}`);
  out(`  no query lost under churn: ${verdict(targets.noLostQueriesUnderChurn)}`);
  out(`machine load: ${machine.loadAtStart.join(" ")} at the start, ${loadAtEnd.join(" ")} at the end`);
  out(
    JSON.stringify({
      bench: "dns",
      namesEach: NAMES,
      seconds: SECONDS,
      rate: RATE,
      creates: CREATES,
      ...figures,
      targets,
      machine: { ...machine, loadAtEnd },
    }),
  );
});
