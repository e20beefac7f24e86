/**
 * bench/policy: N endpoints with 10 ACL rules and a port mapping each. Prints the median latency of adding
 * one more ACL rule to one endpoint with 10 endpoints loaded and with N loaded (target: within 1.3x), and
 * iperf3 throughput between two containers with every endpoint's rules loaded against none (target: at
 * least 95%). The baselines are the same measurements taken earlier in the same run.
 *
 *   node dist/bench/policy.js [--n 1000] [--samples 20]
 */
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { createTopology, type Topology } from "../test/helpers/topology.js";
import { measureThroughput } from "../test/helpers/traffic.js";
import { median, percentile, round } from "./stats.js";

const { values } = parseArgs({
  options: { n: { type: "string", default: "1000" }, samples: { type: "string", default: "20" } },
});
const N = Number(values.n);
const SAMPLES = Number(values.samples);

/** Ten rules in both directions, of the kinds a real policy has. */
const tenRules = (i: number): object[] =>
  Array.from({ length: 10 }, (_, r) => ({
    Type: "ACL",
    Settings: {
      Action: r % 3 === 0 ? "Block" : "Allow",
      Direction: r % 2 === 0 ? "In" : "Out",
      Protocols: "6",
      RemoteAddresses: `198.51.${i % 250}.${r}/32`,
      LocalPorts: String(1000 + r),
      Priority: 100 + r,
    },
  }));

async function addEndpoint(d: TestDaemon, t: Topology, i: number, withRules: boolean): Promise<string> {
  await d.ok("POST", "/namespaces", { Name: t.ns(`p${i}`) });
  const ep = await d.ok<{ IpConfigurations: { IpAddress: string }[] }>("POST", "/endpoints", {
    Name: `p${i}`,
    HostComputeNetwork: "bench",
    HostComputeNamespace: t.ns(`p${i}`),
    Policies: [
      { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 20000 + i } },
      ...(withRules ? tenRules(i) : []),
    ],
  });
  return ep.IpConfigurations[0]?.IpAddress ?? "";
}

/** Latencies of adding one ACL rule to endpoint p0 and of removing it again, `SAMPLES` times each. */
async function ruleLatency(d: TestDaemon): Promise<{ add: number[]; remove: number[] }> {
  const out = { add: [] as number[], remove: [] as number[] };
  for (let k = 0; k < SAMPLES; k++) {
    const rule = {
      Type: "ACL",
      Settings: {
        Action: "Block",
        Direction: "In",
        Protocols: "17",
        LocalPorts: String(5000 + k),
        Priority: 50,
      },
    };
    const start = performance.now();
    await d.ok("POST", "/endpoints/p0/policies", { RequestType: "Add", Policies: [rule] });
    const added = performance.now();
    await d.ok("POST", "/endpoints/p0/policies", { RequestType: "Remove", Policies: [rule] });
    out.add.push(added - start);
    out.remove.push(performance.now() - added);
  }
  return out;
}

await runBench("policy", async ({ cleanup, ownPrefix }) => {
  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  await d.ok("POST", "/networks", {
    Name: "bench",
    Ipams: [{ Subnets: [{ IpAddressPrefix: "10.210.0.0/16" }] }],
  });

  // Two traffic endpoints without rules, then throughput with no ACL loaded.
  const server = await addEndpoint(d, t, 0, false);
  await addEndpoint(d, t, 1, false);
  const bare = await measureThroughput(t.ns("p0"), t.ns("p1"), server);
  for (let i = 2; i < 10; i++) await addEndpoint(d, t, i, true);
  const at10 = await ruleLatency(d);
  for (let i = 10; i < N; i++) await addEndpoint(d, t, i, true);
  const atN = await ruleLatency(d);
  const loaded = await measureThroughput(t.ns("p0"), t.ns("p1"), server);

  const figures = {
    addRuleAt10: { median: round(median(at10.add)), p90: round(percentile(at10.add, 90)) },
    addRuleAtN: { median: round(median(atN.add)), p90: round(percentile(atN.add, 90)) },
    addRuleRatio: round(median(atN.add) / median(at10.add)),
    removeRuleAt10: { median: round(median(at10.remove)), p90: round(percentile(at10.remove, 90)) },
    removeRuleAtN: { median: round(median(atN.remove)), p90: round(percentile(atN.remove, 90)) },
    removeRuleRatio: round(median(atN.remove) / median(at10.remove)),
    throughputBareMbit: round((bare * 8) / 1e6),
    throughputLoadedMbit: round((loaded * 8) / 1e6),
    throughputRatio: round(loaded / bare),
  };
  process.stdout.write(
    `add one ACL rule to one endpoint: ${figures.addRuleAt10.median} ms (p90 ${figures.addRuleAt10.p90}) with 10 endpoints, ` +
      `${figures.addRuleAtN.median} ms (p90 ${figures.addRuleAtN.p90}) with ${N}: ratio ${figures.addRuleRatio} (target <= 1.3)\n` +
      `remove it again: ${figures.removeRuleAt10.median} ms (p90 ${figures.removeRuleAt10.p90}) with 10 endpoints, ` +
      `${figures.removeRuleAtN.median} ms (p90 ${figures.removeRuleAtN.p90}) with ${N}: ratio ${figures.removeRuleRatio} (no target)\n` +
      `iperf3 between two containers: ${figures.throughputBareMbit} Mbit/s with no rules, ${figures.throughputLoadedMbit} Mbit/s ` +
      `with ${N - 8} endpoints x 10 rules loaded: ratio ${figures.throughputRatio} (target >= 0.95)\n`,
  );
  process.stdout.write(`${JSON.stringify({ bench: "policy", n: N, samples: SAMPLES, ...figures })}\n`);
});
