/**
 * bench/namespaces: what other programs' namespaces cost hostnetd. With C containers of its own, it times
 * `GET /plan` (a full observation) and hostnetd's start (to its first answer, the start-up converge
 * included) with no foreign namespace and with F of them (half with an id in hostnetd's namespace, as those
 * of containers with a veth to it), and prints the medians and their ratios (issue 17: 2.3 s and 3–4 s with
 * 1,000 foreign namespaces, when each was entered).
 *
 *   node dist/bench/namespaces.js [--foreign 1000] [--containers 10] [--samples 10] [--starts 5]
 */
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { inNs, must } from "../test/helpers/run.js";
import { createTopology, type Topology } from "../test/helpers/topology.js";
import { median, round } from "./stats.js";

const { values } = parseArgs({
  options: {
    foreign: { type: "string", default: "1000" },
    containers: { type: "string", default: "10" },
    samples: { type: "string", default: "10" },
    starts: { type: "string", default: "5" },
  },
});
const FOREIGN = Number(values.foreign);
const CONTAINERS = Number(values.containers);
const SAMPLES = Number(values.samples);
const STARTS = Number(values.starts);

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** Medians of GET /plan and of a restart of `d`, with whatever namespaces the host has now. */
async function measure(d: TestDaemon): Promise<{ plan: number; start: number }> {
  const plan: number[] = [];
  for (let i = 0; i < SAMPLES; i++) plan.push(await timed(() => d.ok("GET", "/plan")));
  const start: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    await d.kill();
    start.push(await timed(() => d.restart()));
  }
  return { plan: round(median(plan)), start: round(median(start)) };
}

async function addForeign(t: Topology, names: readonly string[]): Promise<void> {
  await must(["ip", "-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
  const ids = names.filter((_, i) => i % 2 === 0).map((n) => `netns set ${n} auto\n`);
  await must(inNs(t.host, ["ip", "-batch", "-"]), { input: ids.join("") });
}

await runBench("namespaces", async ({ cleanup, ownPrefix }) => {
  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  await d.ok("POST", "/networks", { Name: "n", Ipams: [{ Subnets: [{ IpAddressPrefix: "10.72.0.0/16" }] }] });
  for (let i = 0; i < CONTAINERS; i++) {
    await d.ok("POST", "/namespaces", { Name: t.ns(`c${String(i)}`) });
    await d.ok("POST", "/endpoints", { Name: `c${String(i)}`, HostComputeNetwork: "n" });
    await d.ok("POST", `/endpoints/c${String(i)}/attach`, { HostComputeNamespace: t.ns(`c${String(i)}`) });
  }

  const without = await measure(d);
  const foreign = Array.from({ length: FOREIGN }, (_, i) => t.ns(`f${String(i)}`));
  await addForeign(t, foreign);
  const withForeign = await measure(d);

  const ratio = {
    plan: round(withForeign.plan / without.plan),
    start: round(withForeign.start / without.start),
  };
  process.stdout.write(
    [
      `bench/namespaces: ${String(CONTAINERS)} containers of hostnet's; medians in ms`,
      `  GET /plan (${String(SAMPLES)} samples): ${String(without.plan)} with no foreign namespace, ${String(withForeign.plan)} with ${String(FOREIGN)} (ratio ${String(ratio.plan)})`,
      `  start (${String(STARTS)} restarts):   ${String(without.start)} with no foreign namespace, ${String(withForeign.start)} with ${String(FOREIGN)} (ratio ${String(ratio.start)})`,
      JSON.stringify({ foreign: FOREIGN, containers: CONTAINERS, without, withForeign, ratio }),
      "",
    ].join("\n"),
  );
});
