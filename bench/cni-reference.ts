/**
 * The baseline: Debian's CNI reference plugins (bridge + host-local + portmap) run by the libcni driver
 * (test/helpers/libcni/) inside the benchmark's host namespace, exactly as a runtime's libcni runs the
 * chain: one exec per plugin with the CNI_* environment and the configuration on stdin, prevResult chained
 * on ADD, DEL in reverse order with the cached final result, the result cache written and removed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LibCni, type NetworkConfigList, type RuntimeConf } from "../test/helpers/libcni/index.js";
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
  /** ADD of the whole chain for one container; returns the final result. */
  add(containerId: string, netns: string, hostPort: number): Promise<unknown>;
  /**
   * DEL of the whole chain. As under a runtime, libcni takes the prevResult from its result cache, so
   * `result` is not needed; the parameter stays for callers that keep ADD's result.
   */
  del(containerId: string, netns: string, hostPort: number, result?: unknown): Promise<void>;
  /** Removes host-local's data directory and libcni's cache; the kernel objects go with the host namespace. */
  dispose(): Promise<void>;
}

export function cniChain(opts: CniChainOptions): CniChain {
  if (opts.bridge.length > 15) throw new Error(`bridge name ${opts.bridge} is longer than 15 characters`);
  // host-local's default dataDir (/var/lib/cni/networks) and libcni's cache (/var/lib/cni/results) are
  // global and outlive the run.
  const dir = mkdtempSync(join(tmpdir(), "hostnet-bench-cni-"));
  const list: NetworkConfigList = {
    cniVersion: "1.0.0",
    name: `${opts.bridge}-net`,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: opts.subnet }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: join(dir, "ipam"),
        },
      },
      // libcni injects runtimeConfig only into plugins that declare the capability: portmap, not bridge.
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
  const cni = new LibCni({
    pluginDirs: [CNI_PATH],
    cacheDir: join(dir, "cache"),
    hostNs: opts.hostNs,
    onStderr: () => undefined,
  });
  const rt = (containerId: string, netns: string, hostPort: number): RuntimeConf => ({
    containerId,
    netns: `/run/netns/${netns}`,
    ifName: "eth0",
    capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
  });
  return {
    add: (id, netns, hostPort) => cni.addNetworkList(list, rt(id, netns, hostPort)),
    del: (id, netns, hostPort) => cni.delNetworkList(list, rt(id, netns, hostPort)),
    dispose() {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
