/**
 * Every interface's traffic counters in hostnetd's namespace, from one read of /proc/net/dev: reading
 * /sys per interface, or `ip -s -j link`, costs tens of milliseconds more with 10,000 endpoints.
 */
import { readFile } from "node:fs/promises";

/** As the interface counts it: `rx` is what it received. */
export interface LinkStats {
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txDropped: number;
}

/**
 * `/proc/net/dev`: two header lines, then `name: rx bytes packets errs drop fifo frame compressed
 * multicast tx bytes packets errs drop fifo colls carrier compressed`.
 */
export function parseNetDev(text: string): Map<string, LinkStats> {
  const out = new Map<string, LinkStats>();
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out.set(line.slice(0, colon).trim(), {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txDropped: f[11] ?? 0,
    });
  }
  return out;
}

export async function linkStats(): Promise<Map<string, LinkStats>> {
  return parseNetDev(await readFile("/proc/net/dev", "utf8"));
}
