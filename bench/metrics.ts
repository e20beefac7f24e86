/**
 * bench/metrics (issue 19): with N endpoints in the store, A of them attached to namespaces with an ACL rule
 * each (so that their veths and rules are counted), how long `GET /metrics` takes to answer (target: under
 * 100 ms at N = 10,000), and how much a converge (one endpoint created and deleted) slows down while scrapes
 * run beside it, against the same converge without them in the same run (target: at most 1.05x). With
 * `--lbs L`, L load balancers of two attached backends each, whose connection counters a scrape reads too
 * (with `--affinity`, source-IP affinity: counted in rules, so a scrape lists the table's rules as well).
 *
 *   node dist/bench/metrics.js [--n 10000] [--attached 1000] [--lbs 0] [--affinity] [--samples 30]
 *     [--scrape-every 250]
 */
import { request } from "node:http";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDaemon, type TestDaemon } from "../test/helpers/daemon.js";
import { createTopology } from "../test/helpers/topology.js";
import { median, percentile, round } from "./stats.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000" },
    attached: { type: "string", default: "1000" },
    lbs: { type: "string", default: "0" },
    affinity: { type: "boolean", default: false },
    samples: { type: "string", default: "30" },
    "scrape-every": { type: "string", default: "250" },
  },
});
const N = Number(values.n);
const ATTACHED = Math.min(N, Number(values.attached));
const LBS = ATTACHED < 2 ? 0 : Number(values.lbs);
const SAMPLES = Number(values.samples);
const SCRAPE_EVERY_MS = Number(values["scrape-every"]);
const PARALLEL = 8;

/** One scrape over the socket: its duration in ms and the size of the page. */
function scrape(socket: string): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: "/metrics" }, (res) => {
      let bytes = 0;
      res.on("data", (b: Buffer) => (bytes += b.length));
      res.on("end", () => resolve({ ms: performance.now() - start, bytes }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function inParallel(count: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await make(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

/** Create and delete one endpoint, `SAMPLES` times: each one's duration in ms. */
async function converges(d: TestDaemon): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    await d.ok("POST", "/endpoints", { Name: "probe", HostComputeNetwork: "bench" });
    await d.ok("DELETE", "/endpoints/probe");
    out.push(performance.now() - start);
  }
  return out;
}

await runBench("metrics", async ({ cleanup, ownPrefix }) => {
  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  await d.ok("POST", "/networks", {
    Name: "bench",
    Ipams: [{ Subnets: [{ IpAddressPrefix: "10.212.0.0/16" }] }],
  });
  const made = performance.now();
  await inParallel(ATTACHED, async (i) => {
    await d.ok("POST", "/namespaces", { Name: t.ns(`m${i}`) });
    await d.ok("POST", "/endpoints", {
      Name: `m${i}`,
      HostComputeNetwork: "bench",
      HostComputeNamespace: t.ns(`m${i}`),
      Policies: [
        { Type: "ACL", Settings: { Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "9" } },
      ],
    });
  });
  await inParallel(N - ATTACHED, (i) =>
    d.ok("POST", "/endpoints", { Name: `d${i}`, HostComputeNetwork: "bench" }),
  );
  await inParallel(LBS, (i) =>
    d.ok("POST", "/loadbalancers", {
      Name: `lb${i}`,
      FrontendVIPs: [`10.213.${Math.floor(i / 250)}.${(i % 250) + 1}`],
      PortMappings: [
        { Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: values.affinity ? 2 : 0 },
      ],
      HostComputeEndpoints: [`m${(2 * i) % ATTACHED}`, `m${(2 * i + 1) % ATTACHED}`],
    }),
  );
  const makeSeconds = round((performance.now() - made) / 1000);

  const scrapes: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const s = await scrape(d.socket);
    scrapes.push(s.ms);
    bytes = s.bytes;
  }

  // Alternate rounds without and with scrapes beside the converges, so that drift in load hits both alike.
  const quiet: number[] = [];
  const scraped: number[] = [];
  for (let round = 0; round < 3; round++) {
    quiet.push(...(await converges(d)));
    const beside = { scraping: true };
    const scraper = (async () => {
      while (beside.scraping) {
        await scrape(d.socket);
        await new Promise((r) => setTimeout(r, SCRAPE_EVERY_MS));
      }
    })();
    scraped.push(...(await converges(d)));
    beside.scraping = false;
    await scraper;
  }

  const result = {
    endpoints: N,
    attached: ATTACHED,
    loadBalancers: LBS,
    affinity: values.affinity,
    makeSeconds,
    scrapeBytes: bytes,
    scrapeMs: {
      median: round(median(scrapes)),
      p90: round(percentile(scrapes, 90)),
      max: round(Math.max(...scrapes)),
    },
    scrapeUnder100ms: median(scrapes) < 100,
    convergeMs: { quiet: round(median(quiet)), scraped: round(median(scraped)) },
    convergeScrapedOverQuiet: round(median(scraped) / median(quiet)),
    convergeWithin5Percent: median(scraped) / median(quiet) <= 1.05,
    scrapeEveryMs: SCRAPE_EVERY_MS,
    loadAverage: loadavg().map(round),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
});
