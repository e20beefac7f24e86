/**
 * bench/lb: N load balancers with 10 backends each, plus one of 1,024 (issue 20). Prints (a) the median
 * latency of removing and adding one backend with 10 load balancers loaded and with N (target: within
 * 1.3x), and on the one of 1,024 backends, (b) the rate of new TCP connections through one VIP with N
 * loaded against 10 (target: at least 90%), (c) how long a restarted hostnetd takes to program all of them
 * again into an empty nft table (target: at most 5 s), (d) hostnetd's memory (RSS) with N, and how long
 * making them all took. The baselines are measured earlier in the same run.
 *
 *   node dist/bench/lb.js [--n 10000] [--big 1024] [--samples 20] [--seconds 3] [--parallel 8] [--cpu-prof DIR]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { must, run } from "../test/helpers/run.js";
import { createTopology, type Topology } from "../test/helpers/topology.js";
import { median, percentile, round } from "./stats.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000" },
    big: { type: "string", default: "1024" },
    parallel: { type: "string", default: "8" },
    samples: { type: "string", default: "20" },
    seconds: { type: "string", default: "3" },
    "cpu-prof": { type: "string" },
  },
});
const N = Number(values.n);
const SAMPLES = Number(values.samples);
const SECONDS = Number(values.seconds);
const BIG = Number(values.big);
const PARALLEL = Number(values.parallel);
const BACKENDS = 10;
const PORT = 8080;

/** The VIP of load balancer i: 100.64.0.0/10 has room for all of them (the big one is i = N). */
const vip = (i: number): string =>
  `100.${64 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;

/** A backend: accepts connections and resets them at once. */
const SERVER = `require("node:net").createServer((s) => s.resetAndDestroy()).listen(${PORT}, "0.0.0.0");`;

/** New connections per second to `address`:80 for `seconds`, 8 at a time, each reset once connected. */
const client = (address: string, seconds: number): string => `
const net = require("node:net");
let done = 0;
const end = Date.now() + ${seconds * 1000};
const one = () => {
  if (Date.now() >= end) return;
  const s = net.connect(80, ${JSON.stringify(address)});
  s.on("connect", () => { done++; s.resetAndDestroy(); one(); });
  s.on("error", () => { s.destroy(); one(); });
};
for (let i = 0; i < 8; i++) one();
setTimeout(() => { console.log(done / ${seconds}); process.exit(0); }, ${seconds * 1000 + 200});
`;

async function addLoadBalancer(d: TestDaemon, i: number, backends: readonly string[]): Promise<void> {
  await d.ok("POST", "/loadbalancers", {
    Name: `lb${i}`,
    FrontendVIPs: [vip(i)],
    PortMappings: [{ Protocol: 6, InternalPort: PORT, ExternalPort: 80 }],
    HostComputeEndpoints: backends,
  });
}

/** Makes load balancers `from` to `to` - 1, PARALLEL requests at a time; how long it took, in ms. */
async function addLoadBalancers(
  d: TestDaemon,
  from: number,
  to: number,
  backends: readonly string[],
): Promise<number> {
  const start = performance.now();
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      await addLoadBalancer(d, i, backends);
      // Making 10,000 takes a while: a line each thousand says how it goes.
      if ((i + 1) % 1000 === 0)
        process.stderr.write(
          `${String(i + 1)} load balancers after ${round((performance.now() - start) / 1000)} s\n`,
        );
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return performance.now() - start;
}

/** Latency of removing one backend of load balancer `lb` and adding it back, `SAMPLES` times each. */
async function backendLatency(d: TestDaemon, backend: string, lb = "lb0"): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < SAMPLES; k++)
    for (const RequestType of ["Remove", "Add"]) {
      const start = performance.now();
      await d.ok("POST", `/loadbalancers/${lb}/endpoints`, { RequestType, HostComputeEndpoints: [backend] });
      out.push(performance.now() - start);
    }
  return out;
}

async function connectionRate(t: Topology): Promise<number> {
  const r = await run(
    ["nsenter", `--net=/run/netns/${t.ext}`, process.execPath, "-e", client(vip(0), SECONDS)],
    {
      timeoutMs: (SECONDS + 10) * 1000,
    },
  );
  return Number(r.stdout.trim());
}

await runBench("lb", async ({ cleanup, ownPrefix }) => {
  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  const cpuProf = values["cpu-prof"];
  const d = await startDaemon(t.host, ["--no-default-network"], {
    nodeArgs: cpuProf === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`],
    // The restart is measured, not bounded: on a loaded machine it took longer than a test would wait.
    readyWithinMs: 300_000,
  });
  cleanup.add(() => d.stop());
  await d.ok("POST", "/networks", {
    Name: "bench",
    Ipams: [{ Subnets: [{ IpAddressPrefix: "10.211.0.0/16" }] }],
  });
  const backends: string[] = [];
  for (let b = 0; b < BACKENDS; b++) {
    await d.ok("POST", "/namespaces", { Name: t.ns(`be${b}`) });
    const ep = await d.ok<{ ID: string }>("POST", "/endpoints", {
      Name: `be${b}`,
      HostComputeNetwork: "bench",
      HostComputeNamespace: t.ns(`be${b}`),
    });
    backends.push(ep.ID);
    const server = spawn("nsenter", [`--net=/run/netns/${t.ns(`be${b}`)}`, process.execPath, "-e", SERVER], {
      stdio: "ignore",
    });
    cleanup.add(async () => {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    });
  }
  await must(["ip", "-n", t.ext, "route", "add", "100.64.0.0/10", "via", t.hostIp4]);
  await new Promise((r) => setTimeout(r, 300));

  for (let i = 0; i < 10; i++) await addLoadBalancer(d, i, backends);
  const at10 = await backendLatency(d, backends[0] ?? "");
  const rate10 = await connectionRate(t);
  const createMs = await addLoadBalancers(d, 10, N, backends);
  // The big one's backends are endpoints in no namespace: it is there to be programmed and changed.
  const bigStart = performance.now();
  const many: string[] = [];
  for (let b = 0; b < BIG; b++)
    many.push(
      (await d.ok<{ ID: string }>("POST", "/endpoints", { Name: `many${b}`, HostComputeNetwork: "bench" }))
        .ID,
    );
  await addLoadBalancer(d, N, many);
  const bigMs = performance.now() - bigStart;
  const atN = await backendLatency(d, backends[0] ?? "");
  const atBig = await backendLatency(d, many[0] ?? "", `lb${N}`);
  const rateN = await connectionRate(t);
  const rssMiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.pid}/status`, "utf8"))?.[1]) / 1024;

  await d.kill("SIGTERM");
  await must(["nsenter", `--net=/run/netns/${t.host}`, "nft", "delete", "table", "inet", "hostnet"]);
  const restartStart = performance.now();
  await d.restart();
  const restartMs = performance.now() - restartStart;
  const programmed = await must([
    "nsenter",
    `--net=/run/netns/${t.host}`,
    "nft",
    "list",
    "set",
    "inet",
    "hostnet",
    "lbFront4",
  ]);
  const frontends = (programmed.match(/comment "lb:/g) ?? []).length;
  const load = loadavg().map((l) => round(l));

  const figures = {
    backendAt10: { median: round(median(at10)), p90: round(percentile(at10, 90)) },
    backendAtN: { median: round(median(atN)), p90: round(percentile(atN, 90)) },
    backendRatio: round(median(atN) / median(at10)),
    backendAtBig: { median: round(median(atBig)), p90: round(percentile(atBig, 90)) },
    connectionsPerSecondAt10: round(rate10),
    connectionsPerSecondAtN: round(rateN),
    connectionRateRatio: round(rateN / rate10),
    restartMs: round(restartMs),
    frontendsAfterRestart: frontends,
    rssMiB: round(rssMiB),
    createMs: round(createMs),
    bigCreateMs: round(bigMs),
    loadAverage: load,
  };
  process.stdout.write(
    `made ${N - 10} load balancers of ${BACKENDS} backends in ${round(createMs / 1000)} s (${PARALLEL} requests at a time), ` +
      `${BIG} endpoints and one load balancer of them in ${round(bigMs / 1000)} s\n` +
      `remove or add one backend: ${figures.backendAt10.median} ms (p90 ${figures.backendAt10.p90}) with 10 load balancers, ` +
      `${figures.backendAtN.median} ms (p90 ${figures.backendAtN.p90}) with ${N + 1}: ratio ${figures.backendRatio} (target <= 1.3); ` +
      `on the one of ${BIG} backends ${figures.backendAtBig.median} ms (p90 ${figures.backendAtBig.p90})\n` +
      `new connections through one VIP: ${figures.connectionsPerSecondAt10}/s with 10, ${figures.connectionsPerSecondAtN}/s ` +
      `with ${N + 1}: ratio ${figures.connectionRateRatio} (target >= 0.9)\n` +
      `restarted hostnetd programs ${frontends} frontends into an empty table in ${figures.restartMs} ms (target <= 5000)\n` +
      `hostnetd's RSS with ${N + 1} load balancers: ${figures.rssMiB} MiB; load average ${load.join(" ")}\n` +
      "for comparison: kube-proxy's nftables mode is tested upstream at 30,000 services " +
      "(as issue 20 states; a service there is a load balancer here)\n",
  );
  process.stdout.write(`${JSON.stringify({ bench: "lb", n: N, big: BIG, samples: SAMPLES, ...figures })}\n`);
});
