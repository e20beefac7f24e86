/**
 * bench/cni: the hostnet CNI plugin's ADD and DEL against the reference chain bridge + host-local + portmap
 * + bandwidth from containernetworking-plugins, both run as libcni runs them (test/helpers/libcni/), in
 * the same host namespace and the same run, with one port mapping and a bandwidth limit per container.
 * Medians over the first N containers give the ratio; first 20 against last 20 of all of them the growth.
 *
 *   node dist/bench/cni.js [--n 50] [--containers 200]
 *
 * It measures, it does not assert: it exits 0 when a target is missed, non-zero only on an error.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { startDaemon } from "../test/helpers/daemon.js";
import { LibCni, type NetworkConfigList, type RuntimeConf } from "../test/helpers/libcni/index.js";
import { must } from "../test/helpers/run.js";
import { createTopology } from "../test/helpers/topology.js";
import { CNI_PATH, ensureCniPlugins } from "./cni-reference.js";
import { growth, median, percentile, round } from "./stats.js";

const TARGET_RATIO = 0.5;
const TARGET_GROWTH = 1.2;
const PLUGIN = join(import.meta.dirname, "../cni/hostnet-cni");

const { values } = parseArgs({
  options: { n: { type: "string", default: "50" }, containers: { type: "string", default: "200" } },
});
const N = Number(values.n);
const CONTAINERS = Math.max(N, Number(values.containers));
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(CONTAINERS) || CONTAINERS > 5000) {
  process.stderr.write("usage: node dist/bench/cni.js [--n 50] [--containers 200]\n");
  process.exit(2);
}

const out = (line = ""): boolean => process.stdout.write(`${line}\n`);
const bandwidth = {
  ingressRate: 100_000_000,
  ingressBurst: 1_000_000,
  egressRate: 100_000_000,
  egressBurst: 1_000_000,
};

interface Figures {
  median: number;
  p90: number;
  first20Median: number;
  last20Median: number;
  last20OverFirst20: number;
}

function figures(samples: readonly number[]): Figures {
  const head = samples.slice(0, N);
  return { median: round(median(head)), p90: round(percentile(head, 90)), ...growth(samples) };
}

async function series(
  cni: LibCni,
  list: NetworkConfigList,
  rts: readonly RuntimeConf[],
): Promise<{ add: Figures; del: Figures }> {
  const add: number[] = [];
  const del: number[] = [];
  for (const rt of rts) {
    const start = performance.now();
    await cni.addNetworkList(list, rt);
    add.push(performance.now() - start);
  }
  for (const rt of rts) {
    const start = performance.now();
    await cni.delNetworkList(list, rt);
    del.push(performance.now() - start);
  }
  return { add: figures(add), del: figures(del) };
}

await runBench("cni", async ({ cleanup, ownPrefix }) => {
  const pluginsVersion = await ensureCniPlugins();
  out(
    `bench/cni: ${CONTAINERS} containers per side, medians over the first ${N}; containernetworking-plugins ${pluginsVersion}`,
  );
  const t = await createTopology();
  ownPrefix(t.prefix);
  cleanup.add(() => t.destroy());
  const dir = mkdtempSync(join(tmpdir(), "hostnet-bench-cni-"));
  cleanup.add(() => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  });
  copyFileSync(PLUGIN, join(dir, "hostnet"));
  const d = await startDaemon(t.host, ["--no-default-network"]);
  cleanup.add(() => d.stop());
  const cni = new LibCni({ pluginDirs: [dir, CNI_PATH], cacheDir: join(dir, "cache"), hostNs: t.host });
  const rts = async (side: string, portBase: number): Promise<RuntimeConf[]> => {
    const list: RuntimeConf[] = [];
    for (let i = 0; i < CONTAINERS; i++) {
      const ns = t.ns(`${side}${i}`);
      await must(["ip", "netns", "add", ns]);
      list.push({
        containerId: `${t.prefix}-${side}${i}`,
        netns: `/run/netns/${ns}`,
        ifName: "eth0",
        capabilityArgs: {
          portMappings: [{ hostPort: portBase + i, containerPort: 80, protocol: "tcp" }],
          bandwidth,
        },
      });
    }
    return list;
  };

  const hostnetList: NetworkConfigList = {
    cniVersion: "1.0.0",
    name: "bench-hostnet",
    plugins: [
      {
        type: "hostnet",
        network: "bench",
        socket: d.socket,
        ipam: { subnet: "10.210.0.0/16" },
        capabilities: { portMappings: true, bandwidth: true },
      },
    ],
  };
  const hostnet = await series(cni, hostnetList, await rts("h", 20000));

  const referenceList: NetworkConfigList = {
    cniVersion: "1.0.0",
    name: "bench-reference",
    plugins: [
      {
        type: "bridge",
        bridge: `cni-${t.prefix.slice(-6)}`,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: "10.211.0.0/16" }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: join(dir, "ipam"),
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
      { type: "bandwidth", capabilities: { bandwidth: true } },
    ],
  };
  const reference = await series(cni, referenceList, await rts("r", 40000));

  const ms = (n: number): string => `${n.toFixed(2).padStart(8)} ms`;
  const verdict = (met: boolean): string => (met ? "met" : "MISSED");
  for (const [label, s] of [
    ["hostnet ADD", hostnet.add],
    ["hostnet DEL", hostnet.del],
    ["reference ADD", reference.add],
    ["reference DEL", reference.del],
  ] as const)
    out(
      `${label.padEnd(14)} median ${ms(s.median)}  p90 ${ms(s.p90)}  first 20 ${ms(s.first20Median)}  ` +
        `last 20 ${ms(s.last20Median)}  last/first ${s.last20OverFirst20.toFixed(2)}x`,
    );
  const ratios = {
    add: round(hostnet.add.median / reference.add.median),
    del: round(hostnet.del.median / reference.del.median),
  };
  const targets = {
    addRatioMet: ratios.add <= TARGET_RATIO,
    delRatioMet: ratios.del <= TARGET_RATIO,
    addGrowthMet: hostnet.add.last20OverFirst20 <= TARGET_GROWTH,
    delGrowthMet: hostnet.del.last20OverFirst20 <= TARGET_GROWTH || hostnet.del.last20OverFirst20 < 1,
  };
  out(
    `hostnet / reference, medians: ADD ${ratios.add.toFixed(2)} (target <= ${TARGET_RATIO}: ${verdict(targets.addRatioMet)}), DEL ${ratios.del.toFixed(2)} (${verdict(targets.delRatioMet)})`,
  );
  out(
    `hostnet growth over ${CONTAINERS}: ADD ${verdict(targets.addGrowthMet)}, DEL ${verdict(targets.delGrowthMet)} (target <= ${TARGET_GROWTH}x)`,
  );
  out(
    JSON.stringify({
      bench: "cni",
      unit: "ms",
      n: N,
      containers: CONTAINERS,
      hostnet,
      reference,
      ratios,
      targets,
    }),
  );
});
