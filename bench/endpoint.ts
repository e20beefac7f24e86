/**
 * bench/endpoint: create+attach and delete of N endpoints, one port mapping each, through hostnetd's API
 * inside a namespace the benchmark makes; first 20 against last 20 shows whether a change stays O(1). The
 * baseline, measured in the same run, is the CNI reference chain bridge + host-local + portmap.
 *
 *   node dist/bench/endpoint.js [--n 500] [--baseline-n 50]
 */
import { parseArgs } from "node:util";
import { Cleanup } from "../test/helpers/cleanup.js";
import { startDaemon } from "../test/helpers/daemon.js";
import { must } from "../test/helpers/run.js";
import { createTopology } from "../test/helpers/topology.js";
import { cniChain } from "./cni-reference.js";
import { median, percentile, round } from "./stats.js";

const { values } = parseArgs({
  options: { n: { type: "string", default: "500" }, "baseline-n": { type: "string", default: "50" } },
});
const N = Number(values.n);
const BASELINE_N = Number(values["baseline-n"]);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

interface Series {
  median: number;
  first20Median: number;
  first20P90: number;
  last20Median: number;
  last20P90: number;
  last20OverFirst20: number;
}

function describeSeries(label: string, samples: readonly number[]): Series {
  const first = samples.slice(0, 20);
  const last = samples.slice(-20);
  const figures = {
    median: round(median(samples)),
    first20Median: round(median(first)),
    first20P90: round(percentile(first, 90)),
    last20Median: round(median(last)),
    last20P90: round(percentile(last, 90)),
    last20OverFirst20: round(median(last) / median(first)),
  };
  process.stdout.write(
    `${label.padEnd(22)} median ${figures.median} ms | first 20: median ${figures.first20Median} p90 ${figures.first20P90} | ` +
      `last 20: median ${figures.last20Median} p90 ${figures.last20P90} | last/first ${figures.last20OverFirst20}\n`,
  );
  return figures;
}

const cleanup = new Cleanup();
try {
  const t = await createTopology();
  cleanup.add(() => t.destroy());
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  process.env["HOSTNET_LOG_LEVEL"] = "warn";
  await d.ok("POST", "/networks", {
    Name: "bench",
    Ipams: [{ Subnets: [{ IpAddressPrefix: "10.200.0.0/16" }] }],
  });
  for (let i = 0; i < N; i++) await d.ok("POST", "/namespaces", { Name: t.ns(`b${i}`) });

  const createAttach: number[] = [];
  for (let i = 0; i < N; i++) {
    createAttach.push(
      await timed(async () => {
        await d.ok("POST", "/endpoints", {
          Name: `e${i}`,
          HostComputeNetwork: "bench",
          Policies: [
            { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 20000 + i } },
          ],
        });
        await d.ok("POST", `/endpoints/e${i}/attach`, { HostComputeNamespace: t.ns(`b${i}`) });
      }),
    );
  }
  const deletes: number[] = [];
  for (let i = 0; i < N; i++) deletes.push(await timed(() => d.ok("DELETE", `/endpoints/e${i}`)));

  const cni = cniChain(t.host);
  cleanup.add(() => cni.dispose());
  const cniAdd: number[] = [];
  const cniDel: number[] = [];
  const results: unknown[] = [];
  for (let i = 0; i < BASELINE_N; i++) await must(["ip", "netns", "add", t.ns(`r${i}`)]);
  for (let i = 0; i < BASELINE_N; i++)
    cniAdd.push(await timed(async () => results.push(await cni.add(`bench${i}`, t.ns(`r${i}`), 30000 + i))));
  for (let i = 0; i < BASELINE_N; i++)
    cniDel.push(await timed(() => cni.del(`bench${i}`, t.ns(`r${i}`), 30000 + i, results[i])));

  process.stdout.write(`\nhostnet, N=${N} endpoints with one port mapping each\n`);
  const ca = describeSeries("create+attach", createAttach);
  const de = describeSeries("delete", deletes);
  process.stdout.write(`\nCNI reference chain bridge+host-local+portmap, N=${BASELINE_N}\n`);
  const add = describeSeries("ADD", cniAdd);
  const del = describeSeries("DEL", cniDel);
  const ratios = {
    createAttachOverCniAdd: round(ca.median / add.median),
    deleteOverCniDel: round(de.median / del.median),
  };
  process.stdout.write(
    `\nratio hostnet/CNI: create+attach ${ratios.createAttachOverCniAdd}, delete ${ratios.deleteOverCniDel}\n` +
      `targets: create+attach median < 15 ms (${ca.median < 15 ? "met" : "missed"}); ` +
      `last-20 within 1.2x of first-20 (${ca.last20OverFirst20 <= 1.2 ? "met" : "missed"})\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: "endpoint", n: N, baselineN: BASELINE_N, createAttach: ca, delete: de, cniAdd: add, cniDel: del, ratios })}\n`,
  );
} finally {
  await cleanup.run();
}
