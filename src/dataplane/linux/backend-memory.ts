/**
 * What the kernel remembers of a load balancer backend besides hostnet's desired state, which removing the
 * backend from the load balancer does not undo:
 * - UDP flows: UDP has no end, so a client that keeps sending from one port keeps the conntrack entry, and
 *   with it the DNAT to the backend. Deleting the entries makes its next datagram pick a backend afresh.
 * - client affinities (`lbAffinity4`, filled by the kernel): a client would be sent to the backend until
 *   its affinity timed out.
 */
import { NFT_TABLE } from "../naming.js";
import { KernelCommandError, type Runner } from "./exec.js";

/** Forgets one backend of a VIP, or with no backend all of them (the load balancer is gone). */
export type ForgetBackend = (vip: string, backend?: string) => Promise<void>;

async function flushUdpFlows(runner: Runner, vip: string, backend: string | undefined): Promise<void> {
  const family = vip.includes(":") ? "ipv6" : "ipv4";
  const argv = ["conntrack", "-D", "-f", family, "-p", "udp", "--orig-dst", vip];
  if (backend !== undefined) argv.push("--reply-src", backend);
  try {
    await runner.run(argv);
  } catch (err) {
    // conntrack exits 1 when there was nothing to delete.
    if (!(err instanceof KernelCommandError && err.stderr.includes("0 flow entries"))) throw err;
  }
}

type Concat = { concat: (string | number)[] } | undefined;

async function forgetAffinities(runner: Runner, vip: string, backend: string | undefined): Promise<void> {
  if (vip.includes(":")) return;
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
      return parts?.[1] === vip && (backend === undefined || to === backend) ? [parts.join(" . ")] : [];
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
  async (vip, backend) => {
    await flushUdpFlows(runner, vip, backend);
    await forgetAffinities(runner, vip, backend);
  };
