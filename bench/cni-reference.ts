/**
 * The baseline: Debian's CNI reference plugins (bridge + host-local + portmap) run exactly as libcni runs a
 * chain, inside the benchmark's host namespace.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../test/helpers/run.js";

const CNI_PATH = "/usr/lib/cni";

export interface CniChain {
  add(containerId: string, netns: string, hostPort: number): Promise<unknown>;
  del(containerId: string, netns: string, hostPort: number, result: unknown): Promise<void>;
  dispose(): Promise<void>;
}

export function cniChain(hostNs: string): CniChain {
  const dataDir = mkdtempSync(join(tmpdir(), "hostnet-bench-cni-"));
  const name = "benchnet";
  const bridge = {
    cniVersion: "1.0.0",
    name,
    type: "bridge",
    bridge: "cnibench0",
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: {
      type: "host-local",
      ranges: [[{ subnet: "10.222.0.0/16" }]],
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir,
    },
  };
  const portmap = (hostPort: number, prevResult: unknown): object => ({
    cniVersion: "1.0.0",
    name,
    type: "portmap",
    capabilities: { portMappings: true },
    snat: true,
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
    prevResult,
  });
  const exec = async (
    command: string,
    plugin: string,
    id: string,
    netns: string,
    config: object,
  ): Promise<string> => {
    const r = await run(
      [
        "env",
        `CNI_COMMAND=${command}`,
        `CNI_CONTAINERID=${id}`,
        `CNI_NETNS=/run/netns/${netns}`,
        "CNI_IFNAME=eth0",
        `CNI_PATH=${CNI_PATH}`,
        "nsenter",
        `--net=/run/netns/${hostNs}`,
        `${CNI_PATH}/${plugin}`,
      ],
      { input: JSON.stringify(config) },
    );
    if (r.code !== 0) throw new Error(`${plugin} ${command} failed: ${r.stdout}${r.stderr}`);
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
