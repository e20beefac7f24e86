/** One call of the built CNI plugin executable, as a runtime makes it: CNI_* variables, the config on stdin. */
import { join } from "node:path";
import { run } from "./run.js";

const CNI_PLUGIN = join(import.meta.dirname, "../../dist/cni/hostnet-cni");

export interface CniNetwork {
  readonly socket: string;
  /** The hostnet network the plugin puts containers on, made at the first ADD. */
  readonly network: string;
  readonly subnet: string;
}

export interface CniAnswer {
  readonly exitCode: number | null;
  /** The result of a successful call, or the CNI error. */
  readonly output: { code?: number; msg?: string; ips?: { address: string }[] };
}

/** `CNI_COMMAND` for container `id` in the namespace at `netns`, interface eth0, cniVersion 1.0.0. */
export async function execCni(
  net: CniNetwork,
  command: "ADD" | "DEL",
  id: string,
  netns: string,
): Promise<CniAnswer> {
  const conf = {
    cniVersion: "1.0.0",
    name: net.network,
    type: "hostnet",
    network: net.network,
    socket: net.socket,
    ipam: { subnet: net.subnet },
  };
  const env = [`CNI_COMMAND=${command}`, `CNI_CONTAINERID=${id}`, `CNI_NETNS=${netns}`, "CNI_IFNAME=eth0"];
  const r = await run(["env", ...env, "CNI_PATH=/nonexistent", CNI_PLUGIN], {
    input: JSON.stringify(conf),
    timeoutMs: 120_000,
  });
  return {
    exitCode: r.code,
    output: r.stdout.trim() === "" ? {} : (JSON.parse(r.stdout) as CniAnswer["output"]),
  };
}
