/**
 * Stale UDP flows: UDP has no end, so a client that keeps sending from one port keeps the conntrack entry,
 * and with it the DNAT to a backend that was removed. Deleting the entries makes its next datagram pick a
 * backend afresh.
 */
import { KernelCommandError, type Runner } from "./exec.js";

export type UdpFlowFlush = (vip: string, backend: string) => Promise<void>;

export const conntrackFlush =
  (runner: Runner): UdpFlowFlush =>
  async (vip, backend) => {
    const family = vip.includes(":") ? "ipv6" : "ipv4";
    const argv = ["conntrack", "-D", "-f", family, "-p", "udp", "--orig-dst", vip, "--reply-src", backend];
    try {
      await runner.run(argv);
    } catch (err) {
      // conntrack exits 1 when there was nothing to delete.
      if (!(err instanceof KernelCommandError && err.stderr.includes("0 flow entries"))) throw err;
    }
  };
