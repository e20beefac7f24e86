/**
 * What the kernel remembers of a load balancer backend besides hostnet's desired state, which removing the
 * backend from the load balancer does not undo: its UDP flows. UDP has no end, so a client that keeps sending
 * from one port keeps the conntrack entry, and with it the DNAT to the backend. Deleting the entries makes its
 * next datagram pick a backend afresh. (The clients a backend has by affinity are in its own set, which goes
 * with it: modes/load-balancer.ts.)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Runner } from "./exec.js";

/** A VIP's backend to forget, or with no backend all of them (the load balancer is gone). */
interface Forgotten {
  readonly vip: string;
  readonly backend?: string;
}

/** Forgets backends of VIPs, all in one conntrack and at most two nft processes however many they are. */
export type ForgetBackend = (forgotten: readonly Forgotten[]) => Promise<void>;

/**
 * One `conntrack -R` batch: a delete line per VIP (and backend); one that finds no flow is no error. The batch
 * is a file, since conntrack opens `-` as /dev/stdin, which a socket (Node's stdio pipe) cannot be opened as.
 */
async function flushUdpFlows(runner: Runner, forgotten: readonly Forgotten[]): Promise<void> {
  const lines = forgotten.map(({ vip, backend }) => {
    const line = `-D -f ${vip.includes(":") ? "ipv6" : "ipv4"} -p udp --orig-dst ${vip}`;
    return backend === undefined ? line : `${line} --reply-src ${backend}`;
  });
  const dir = await mkdtemp(join(tmpdir(), "hostnet-conntrack-"));
  try {
    const batch = join(dir, "batch");
    await writeFile(batch, `${lines.join("\n")}\n`);
    await runner.run(["conntrack", "-R", batch]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const forgetBackend =
  (runner: Runner): ForgetBackend =>
  async (forgotten) => {
    if (forgotten.length === 0) return;
    await flushUdpFlows(runner, forgotten);
  };
