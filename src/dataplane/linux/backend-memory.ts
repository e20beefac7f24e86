/**
 * What the kernel remembers of a load balancer backend besides hostnet's desired state, which removing the
 * backend from the load balancer does not undo:
 * - UDP flows: UDP has no end, so a client that keeps sending from one port keeps the conntrack entry, and
 *   with it the DNAT to the backend. Deleting the entries makes its next datagram pick a backend afresh.
 * - client affinities (`lbAffinity4`, filled by the kernel): a client would be sent to the backend until
 *   its affinity timed out.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NFT_TABLE } from "../naming.js";
import { KernelCommandError, type Runner } from "./exec.js";

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

type Concat = { concat: (string | number)[] } | undefined;

async function forgetAffinities(runner: Runner, forgotten: readonly Forgotten[]): Promise<void> {
  const ipv4 = forgotten.filter((f) => !f.vip.includes(":"));
  if (ipv4.length === 0) return;
  const map = "lbAffinity4";
  const listed = await runner.run(["nft", "-j", "-p", "list", "map", "inet", NFT_TABLE, map]);
  const { nftables } = JSON.parse(listed.stdout) as { nftables: { map?: { elem?: unknown[][] } }[] };
  const keys = nftables
    .flatMap((entry) => entry.map?.elem ?? [])
    .flatMap(([key, value]) => {
      // Elements with a timeout carry their key under "elem"; the value is backend address . port.
      const val = (key as { elem?: { val: Concat } }).elem?.val ?? (key as Concat);
      const parts = val?.concat;
      const to = (value as Concat)?.concat[0];
      const forget = ipv4.some((f) => parts?.[1] === f.vip && (f.backend === undefined || to === f.backend));
      return forget && parts !== undefined ? [parts.join(" . ")] : [];
    });
  if (keys.length === 0) return;
  const lines = keys.map((k) => `delete element inet ${NFT_TABLE} ${map} { ${k} }`);
  try {
    await runner.run(["nft", "-f", "-"], `${lines.join("\n")}\n`);
  } catch (err) {
    // An affinity that timed out since it was listed is already forgotten.
    if (!(err instanceof KernelCommandError && err.stderr.includes("No such file or directory"))) throw err;
  }
}

export const forgetBackend =
  (runner: Runner): ForgetBackend =>
  async (forgotten) => {
    if (forgotten.length === 0) return;
    await flushUdpFlows(runner, forgotten);
    await forgetAffinities(runner, forgotten);
  };
