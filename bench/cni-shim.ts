/**
 * bench/cni-shim: the start-up cost of the CNI plugin executable (dist/cni/hostnet-cni) on its own. A
 * runtime execs the plugin for every call, so what it costs before hostnetd does any work is on the
 * critical path of every container start. It runs an ADD N times against a fake hostnetd on a unix socket
 * that answers `{}` with exit status 0 at once; the baselines, interleaved in the same run, are the
 * cheapest exec there is (`/bin/true`) and the Node process the shim replaces (`node -e 0`, N/4 times).
 *
 *   node dist/bench/cni-shim.js [--n 200]
 *
 * Needs no root. It measures, it does not assert: it exits 0 whatever the figures, non-zero on an error.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { availableParallelism, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median, percentile, round } from "./stats.js";

const SHIM = fileURLToPath(new URL("../cni/hostnet-cni", import.meta.url));
const WARM_UP = 5;
const NODE_EVERY = 4;
const CONFIG = JSON.stringify({
  cniVersion: "1.0.0",
  name: "hostnet",
  type: "hostnet",
  network: "cni",
  mode: "nat",
  ipam: { subnet: "10.88.0.0/16" },
});

function usage(message: string): never {
  process.stderr.write(`bench/cni-shim: ${message}\nusage: node dist/bench/cni-shim.js [--n 200]\n`);
  process.exit(2);
}

let args: { n: string };
try {
  args = parseArgs({ options: { n: { type: "string", default: "200" } } }).values;
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
if (!/^\d+$/.test(args.n) || Number(args.n) < 1 || Number(args.n) > 100_000)
  usage("--n must be an integer from 1 to 100000");
const N = Number(args.n);
const NODE_N = Math.ceil(N / NODE_EVERY);

interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly ms: number;
}

/** Runs argv with env and stdin, timed from spawn to exit with its pipes closed. */
function exec(argv: readonly [string, ...string[]], env: NodeJS.ProcessEnv, stdin: string): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ["pipe", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, ms: performance.now() - start });
    });
    // /bin/true and node -e 0 exit without reading stdin: writing it may fail with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin);
  });
}

interface Series {
  readonly count: number;
  readonly median: number;
  readonly p90: number;
}

const series = (samples: readonly number[]): Series => ({
  count: samples.length,
  median: round(median(samples)),
  p90: round(percentile(samples, 90)),
});

const ms = (n: number): string => `${n.toFixed(2).padStart(8)} ms`;
const out = (line = ""): boolean => process.stdout.write(`${line}\n`);

async function main(dir: string): Promise<void> {
  let shimBytes: number;
  try {
    shimBytes = statSync(SHIM).size;
  } catch {
    throw new Error(`${SHIM} is missing: run npm run build first`);
  }

  let calls = 0;
  const socket = join(dir, "hostnet.sock");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls++;
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": "2",
        "Hostnet-Cni-Exit": "0",
      });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });

  try {
    const machine = { kernel: release(), cpus: availableParallelism(), node: process.version };
    out(`bench/cni-shim: hostnet-cni and /bin/true N=${N}, node -e 0 N=${NODE_N}`);
    out(`machine: kernel ${machine.kernel}, ${machine.cpus} CPUs, node ${machine.node}`);

    const env = {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "0123456789abcdef",
      CNI_NETNS: "/run/netns/bench",
      CNI_IFNAME: "eth0",
      CNI_PATH: "/opt/cni/bin",
      HOSTNET_SOCKET: socket,
    };
    const shim = async (): Promise<number> => {
      const r = await exec([SHIM], env, CONFIG);
      if (r.code !== 0 || r.stdout !== "{}")
        throw new Error(`hostnet-cni exited ${String(r.code)} with stdout ${JSON.stringify(r.stdout)}`);
      return r.ms;
    };
    const trueMs = async (): Promise<number> => (await exec(["/bin/true"], env, CONFIG)).ms;
    const nodeMs = async (): Promise<number> => (await exec([process.execPath, "-e", "0"], env, CONFIG)).ms;

    // Not timed: the first execs page the binaries in.
    for (let i = 0; i < WARM_UP; i++) {
      await shim();
      await trueMs();
      await nodeMs();
    }
    // Interleaved, so that a change of load during the run hits all three alike.
    const samples = { shim: [] as number[], true: [] as number[], node: [] as number[] };
    for (let i = 0; i < N; i++) {
      samples.shim.push(await shim());
      samples.true.push(await trueMs());
      if (i % NODE_EVERY === 0) samples.node.push(await nodeMs());
    }
    if (calls !== N + WARM_UP)
      throw new Error(`the fake hostnetd answered ${calls} calls, not ${N + WARM_UP}`);

    const figures = { shim: series(samples.shim), true: series(samples.true), node: series(samples.node) };
    const ratios = {
      // Three decimals: the ratio is far below 1, where two would say little.
      shimOverNode: Math.round((median(samples.shim) / median(samples.node)) * 1000) / 1000,
      shimOverTrue: round(median(samples.shim) / median(samples.true)),
    };
    const shimOverTrueMs = round(median(samples.shim) - median(samples.true));

    out();
    out(`${"".padEnd(36)}median         p90`);
    out(`  hostnet-cni ADD (fake hostnetd)  ${ms(figures.shim.median)} ${ms(figures.shim.p90)}`);
    out(`  /bin/true                        ${ms(figures.true.median)} ${ms(figures.true.p90)}`);
    out(`  node -e 0                        ${ms(figures.node.median)} ${ms(figures.node.p90)}`);
    out();
    out(`hostnet-cni / node -e 0, medians   ${ratios.shimOverNode.toFixed(3).padStart(8)}`);
    out(`hostnet-cni / /bin/true, medians   ${ratios.shimOverTrue.toFixed(2).padStart(8)}`);
    out(`hostnet-cni - /bin/true, medians   ${ms(shimOverTrueMs)}`);
    out(`hostnet-cni size                   ${String(shimBytes).padStart(8)} bytes`);
    out(
      JSON.stringify({
        bench: "cni-shim",
        unit: "ms",
        n: N,
        nodeN: NODE_N,
        machine,
        shimBytes,
        shim: figures.shim,
        true: figures.true,
        node: figures.node,
        ratios,
        shimOverTrueMs,
      }),
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const dir = mkdtempSync(join(tmpdir(), "hostnet-bench-cni-shim-"));
const onSignal = (signal: NodeJS.Signals): void => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(signal === "SIGINT" ? 130 : 143);
};
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);
try {
  await main(dir);
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`bench/cni-shim failed: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
