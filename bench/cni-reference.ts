/**
 * The baseline: Debian's CNI reference plugins (bridge + host-local + portmap) run exactly as libcni runs a
 * chain, inside the benchmark's host namespace: one exec per plugin with the CNI_* environment and the
 * network configuration on stdin; each later plugin gets the previous plugin's result as prevResult; DEL runs
 * the plugins in reverse order, each with the chain's final ADD result as prevResult.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, run } from "../test/helpers/run.js";

export const CNI_PATH = "/usr/lib/cni";
const PLUGINS = ["bridge", "host-local", "portmap"] as const;

/**
 * Installs Debian's containernetworking-plugins when a plugin of the chain is missing (apt-get update first),
 * and returns the package's version. Installing touches the file system only, never a network namespace.
 */
export async function ensureCniPlugins(): Promise<string> {
  if (PLUGINS.some((p) => !existsSync(join(CNI_PATH, p)))) {
    process.stdout.write("installing containernetworking-plugins (apt-get update; apt-get install)\n");
    const apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y"];
    await must([...apt, "update"], { timeoutMs: 600_000 });
    await must([...apt, "install", "containernetworking-plugins"], { timeoutMs: 600_000 });
    const missing = PLUGINS.filter((p) => !existsSync(join(CNI_PATH, p)));
    if (missing.length > 0)
      throw new Error(`CNI plugins still missing from ${CNI_PATH}: ${missing.join(", ")}`);
  }
  const version = await run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"]);
  return version.code === 0 ? version.stdout.trim() : "unknown";
}

export interface CniChainOptions {
  /** The namespace the plugins run in (the benchmark's host namespace). */
  readonly hostNs: string;
  /** The chain's Linux bridge; unique to the run. At most 15 characters. */
  readonly bridge: string;
  readonly subnet: string;
}

export interface CniChain {
  /** ADD of the whole chain for one container; returns the final result, which DEL needs. */
  add(containerId: string, netns: string, hostPort: number): Promise<unknown>;
  del(containerId: string, netns: string, hostPort: number, result: unknown): Promise<void>;
  /** Removes host-local's data directory; the kernel objects go with the host namespace. */
  dispose(): Promise<void>;
}

export function cniChain(opts: CniChainOptions): CniChain {
  if (opts.bridge.length > 15) throw new Error(`bridge name ${opts.bridge} is longer than 15 characters`);
  // host-local's default dataDir (/var/lib/cni/networks) is global and outlives the run.
  const dataDir = mkdtempSync(join(tmpdir(), "hostnet-bench-cni-"));
  const name = `${opts.bridge}-net`;
  const cniVersion = "1.0.0";
  const bridge = {
    cniVersion,
    name,
    type: "bridge",
    bridge: opts.bridge,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: {
      type: "host-local",
      ranges: [[{ subnet: opts.subnet }]],
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir: join(dataDir, "ipam"),
    },
  };
  // libcni injects runtimeConfig only into plugins that declare the capability: portmap, not bridge.
  const portmap = (hostPort: number, prevResult: unknown): object => ({
    cniVersion,
    name,
    type: "portmap",
    capabilities: { portMappings: true },
    snat: true,
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
    prevResult,
  });
  const exec = async (
    command: "ADD" | "DEL",
    plugin: string,
    id: string,
    netns: string,
    config: object,
  ): Promise<string> => {
    // run() has no env option: `env` sets the CNI_* variables on top of ours (as libcni adds them to its
    // own environment) and execs nsenter, which enters the host namespace and execs the plugin.
    const r = await run(
      [
        "env",
        `CNI_COMMAND=${command}`,
        `CNI_CONTAINERID=${id}`,
        `CNI_NETNS=/run/netns/${netns}`,
        "CNI_IFNAME=eth0",
        `CNI_PATH=${CNI_PATH}`,
        "nsenter",
        `--net=/run/netns/${opts.hostNs}`,
        join(CNI_PATH, plugin),
      ],
      { input: JSON.stringify(config) },
    );
    if (r.code !== 0)
      throw new Error(`CNI ${plugin} ${command} ${id} exited ${String(r.code)}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  return {
    async add(id, netns, hostPort) {
      const first = JSON.parse(await exec("ADD", "bridge", id, netns, bridge)) as unknown;
      return JSON.parse(await exec("ADD", "portmap", id, netns, portmap(hostPort, first))) as unknown;
    },
    async del(id, netns, hostPort, result) {
      await exec("DEL", "portmap", id, netns, portmap(hostPort, result));
      await exec("DEL", "bridge", id, netns, { ...bridge, prevResult: result });
    },
    dispose() {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
