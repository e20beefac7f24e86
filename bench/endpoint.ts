/**
 * bench/endpoint: create+attach and delete of N endpoints, one TCP port mapping each, through hostnetd's API
 * inside a namespace the benchmark makes; first 20 against last 20 shows whether an operation's cost grows
 * with the number of endpoints. The baseline, measured in the same run, is the CNI reference chain
 * bridge + host-local + portmap run as libcni runs it, in the same host namespace.
 *
 *   node dist/bench/endpoint.js [--n 500] [--baseline-n 50]
 *
 * It measures, it does not assert: it exits 0 when a target is missed, non-zero only on an error.
 */
import { availableParallelism, release } from "node:os";
import { parseArgs } from "node:util";
import { runBench, type BenchRun } from "./harness.js";
import { startDaemon } from "../test/helpers/daemon.js";
import { must } from "../test/helpers/run.js";
import { createTopology } from "../test/helpers/topology.js";
import { cniChain, ensureCniPlugins } from "./cni-reference.js";
import { growth, median, percentile, round } from "./stats.js";

const TARGET_CREATE_ATTACH_MS = 15;
const TARGET_GROWTH = 1.2;
const WINDOW = 20;
const HOSTNET_SUBNET = "10.200.0.0/16";
const CNI_SUBNET = "10.222.0.0/16";
const HOSTNET_PORT_BASE = 20000;
const CNI_PORT_BASE = 40000;

function usage(message: string): never {
  process.stderr.write(
    `bench/endpoint: ${message}\nusage: node dist/bench/endpoint.js [--n 500] [--baseline-n 50]\n`,
  );
  process.exit(2);
}

function count(option: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) usage(`--${option} must be an integer from 1 to ${max}`);
  return n;
}

let args: { n: string; "baseline-n": string };
try {
  args = parseArgs({
    options: { n: { type: "string", default: "500" }, "baseline-n": { type: "string", default: "50" } },
  }).values;
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
// Host ports HOSTNET_PORT_BASE+i and CNI_PORT_BASE+i must stay apart and below 65536.
const N = count("n", args.n, CNI_PORT_BASE - HOSTNET_PORT_BASE);
const BASELINE_N = count("baseline-n", args["baseline-n"], 65535 - CNI_PORT_BASE);

interface Series {
  readonly count: number;
  readonly median: number;
  readonly p90: number;
  readonly first20Median: number;
  readonly first20P90: number;
  readonly last20Median: number;
  readonly last20P90: number;
  readonly last20OverFirst20: number;
}

function series(samples: readonly number[]): Series {
  const first = samples.slice(0, WINDOW);
  const last = samples.slice(-WINDOW);
  return {
    count: samples.length,
    median: round(median(samples)),
    p90: round(percentile(samples, 90)),
    first20P90: round(percentile(first, 90)),
    last20P90: round(percentile(last, 90)),
    ...growth(samples),
  };
}

const ms = (n: number): string => `${n.toFixed(2).padStart(8)} ms`;
const verdict = (met: boolean): string => (met ? "met" : "MISSED");
const out = (line = ""): boolean => process.stdout.write(`${line}\n`);

/** Prints a series; with targets, their verdicts next to the figures. Returns whether growth stayed in bound. */
function printSeries(title: string, s: Series, targets?: { medianMs?: number }): boolean {
  const growthMet = s.last20OverFirst20 <= TARGET_GROWTH;
  const medianMs = targets?.medianMs;
  out(title);
  out(
    `  overall         median ${ms(s.median)}   p90 ${ms(s.p90)}` +
      (medianMs === undefined ? "" : `   target median < ${medianMs} ms: ${verdict(s.median < medianMs)}`),
  );
  out(`  first ${WINDOW}        median ${ms(s.first20Median)}   p90 ${ms(s.first20P90)}`);
  out(`  last ${WINDOW}         median ${ms(s.last20Median)}   p90 ${ms(s.last20P90)}`);
  out(
    `  last/first      ${s.last20OverFirst20.toFixed(2).padStart(7)}x` +
      (targets === undefined ? "" : `${" ".repeat(27)}target <= ${TARGET_GROWTH}x: ${verdict(growthMet)}`),
  );
  return growthMet;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main({ cleanup, ownPrefix }: BenchRun): Promise<void> {
  const pluginsVersion = await ensureCniPlugins();
  const machine = {
    kernel: release(),
    cpus: availableParallelism(),
    node: process.version,
    containernetworkingPlugins: pluginsVersion,
  };
  out(`bench/endpoint: hostnet N=${N}, CNI reference chain N=${BASELINE_N}`);
  out(
    `machine: kernel ${machine.kernel}, ${machine.cpus} CPUs, node ${machine.node}, ` +
      `containernetworking-plugins ${machine.containernetworkingPlugins}`,
  );
  if (N < 2 * WINDOW || BASELINE_N < 2 * WINDOW)
    out(`note: with fewer than ${2 * WINDOW} samples the first ${WINDOW} and last ${WINDOW} overlap`);

  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());

  // hostnet. Set-up (network, N namespaces) is not timed.
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  const network = `${t.prefix}-nat`;
  await d.ok("POST", "/networks", {
    Name: network,
    Type: "NAT",
    Ipams: [{ Subnets: [{ IpAddressPrefix: HOSTNET_SUBNET }] }],
  });
  const namespaces = Array.from({ length: N }, (_, i) => t.ns(`b${i}`));
  for (const name of namespaces) await d.ok("POST", "/namespaces", { Name: name });
  out(`hostnetd ready in ${t.host}; network ${network} (NAT, ${HOSTNET_SUBNET}); ${N} namespaces created`);

  const createAttach: number[] = [];
  for (let i = 0; i < N; i++) {
    const name = `e${i}`;
    createAttach.push(
      await timed(async () => {
        await d.ok("POST", "/endpoints", {
          Name: name,
          HostComputeNetwork: network,
          Policies: [
            {
              Type: "PortMapping",
              Settings: { Protocol: "TCP", ExternalPort: HOSTNET_PORT_BASE + i, InternalPort: 80 },
            },
          ],
        });
        await d.ok("POST", `/endpoints/${name}/attach`, { HostComputeNamespace: namespaces[i] });
      }),
    );
  }
  const deletes: number[] = [];
  for (let i = 0; i < N; i++) deletes.push(await timed(() => d.ok("DELETE", `/endpoints/e${i}`)));

  // Not timed: leave the host namespace as the baseline should find it, without hostnet's namespaces,
  // network or daemon.
  for (const name of namespaces) await d.ok("DELETE", `/namespaces/${name}`);
  await d.ok("DELETE", `/networks/${network}`);
  await d.stop();

  // The baseline, in the same host namespace, for separate container namespaces.
  const cni = cniChain({ hostNs: t.host, bridge: `cni-${t.prefix.slice(-6)}`, subnet: CNI_SUBNET });
  cleanup.add(() => cni.dispose());
  const containers = Array.from({ length: BASELINE_N }, (_, i) => ({
    id: `${t.prefix}-c${i}`,
    netns: t.ns(`r${i}`),
    hostPort: CNI_PORT_BASE + i,
  }));
  for (const c of containers) await must(["ip", "netns", "add", c.netns]);
  const cniAdd: number[] = [];
  const results: unknown[] = [];
  for (const c of containers)
    cniAdd.push(await timed(async () => results.push(await cni.add(c.id, c.netns, c.hostPort))));
  const cniDel: number[] = [];
  for (const [i, c] of containers.entries())
    cniDel.push(await timed(() => cni.del(c.id, c.netns, c.hostPort, results[i])));

  // Report.
  const ca = series(createAttach);
  const de = series(deletes);
  const add = series(cniAdd);
  const del = series(cniDel);
  const ratios = {
    createAttachOverCniAdd: round(median(createAttach) / median(cniAdd)),
    deleteOverCniDel: round(median(deletes) / median(cniDel)),
  };
  const createAttachMedianMet = ca.median < TARGET_CREATE_ATTACH_MS;

  out();
  const caGrowthMet = printSeries(
    `hostnet create+attach (POST /endpoints, then POST /endpoints/{name}/attach), ${N} endpoints`,
    ca,
    { medianMs: TARGET_CREATE_ATTACH_MS },
  );
  out();
  const deGrowthMet = printSeries(`hostnet delete (DELETE /endpoints/{name}), ${N} endpoints`, de, {});
  out();
  printSeries(`CNI reference chain ADD (bridge, then portmap), ${BASELINE_N} containers`, add);
  out();
  printSeries(`CNI reference chain DEL (portmap, then bridge), ${BASELINE_N} containers`, del);
  out();
  out("hostnet / CNI reference chain, medians (below 1: hostnet is faster)");
  out(`  create+attach / ADD  ${ratios.createAttachOverCniAdd.toFixed(2).padStart(7)}`);
  out(`  delete / DEL         ${ratios.deleteOverCniDel.toFixed(2).padStart(7)}`);
  out();
  out(
    `targets: create+attach median < ${TARGET_CREATE_ATTACH_MS} ms: ${verdict(createAttachMedianMet)}; ` +
      `last-20 median within ${TARGET_GROWTH}x of first-20: create+attach ${verdict(caGrowthMet)}, ` +
      `delete ${verdict(deGrowthMet)}`,
  );
  out(
    JSON.stringify({
      bench: "endpoint",
      unit: "ms",
      n: N,
      baselineN: BASELINE_N,
      machine,
      createAttach: ca,
      delete: de,
      cniAdd: add,
      cniDel: del,
      ratios,
      targets: {
        createAttachMedianMs: TARGET_CREATE_ATTACH_MS,
        last20OverFirst20Max: TARGET_GROWTH,
        createAttachMedianMet,
        createAttachGrowthMet: caGrowthMet,
        deleteGrowthMet: deGrowthMet,
      },
    }),
  );
}

await runBench("endpoint", main);
