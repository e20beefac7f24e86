/**
 * What the kernel remembers of a load balancer backend besides hostnet's desired state, which removing the
 * backend from the load balancer does not undo: its UDP flows. UDP has no end, so a client that keeps
 * sending from one port keeps the conntrack entry, and with it the DNAT to the backend. Deleting the entries
 * makes its next datagram pick a backend afresh. A NodePort's flows are those of its port that carry the
 * NodePort mark, on whatever address they came to. (The clients a backend has by affinity are in its own
 * set, which goes with it: modes/load-balancer.ts.)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_PORT_CT_MARK } from "../naming.js";
import type { Runner } from "./exec.js";

/**
 * What the kernel keeps a load balancer's flows under: a VIP, or a NodePort's UDP port of one family, whose
 * flows carry the NodePort mark (render/nft.ts) on whatever address they came to.
 */
export type FlowKey =
  { readonly vip: string } | { readonly vip?: undefined; readonly nodePort: number; readonly family: 4 | 6 };

/** A frontend's backend to forget, or with no backend all of them (the load balancer is gone). */
type Forgotten = FlowKey & { readonly backend?: string };

/** Forgets backends of frontends, all in one conntrack process however many they are. */
export type ForgetBackend = (forgotten: readonly Forgotten[]) => Promise<void>;

/**
 * One `conntrack -R` batch: a delete line per VIP (and backend); one that finds no flow is no error. The batch
 * is a file, since conntrack opens `-` as /dev/stdin, which a socket (Node's stdio pipe) cannot be opened as.
 */
async function flushUdpFlows(runner: Runner, forgotten: readonly Forgotten[]): Promise<void> {
  const lines = forgotten.map((f) => {
    const line =
      f.vip === undefined
        ? `-D -f ipv${String(f.family)} -p udp --orig-port-dst ${String(f.nodePort)} --mark ${NODE_PORT_CT_MARK}/${NODE_PORT_CT_MARK}`
        : `-D -f ${f.vip.includes(":") ? "ipv6" : "ipv4"} -p udp --orig-dst ${f.vip}`;
    return f.backend === undefined ? line : `${line} --reply-src ${f.backend}`;
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
