/**
 * A real upstream DNS server for resolver tests: Debian's dnsmasq in a namespace of the test's, answering only
 * the names it is given (no /etc/hosts, no upstream of its own, no config file of the machine's), stopped by
 * its PID.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { within } from "./poll.js";
import { inNs, run } from "./run.js";
import { onPath, skipOrFailInCi } from "./system.js";

/** Why a test that needs dnsmasq and dig cannot run here, or undefined when it can. */
export function dnsmasqSkipReason(what: string): string | undefined {
  const missing = ["dnsmasq", "dig"].filter((cmd) => !onPath(cmd));
  return missing.length === 0
    ? undefined
    : skipOrFailInCi(`${what} needs ${missing.join(", ")}; scripts/install-deps.sh installs them`);
}

export interface Dnsmasq {
  stop(): Promise<void>;
}

/**
 * dnsmasq on `address` port 53 in `ns`, answering each name of `records` with its addresses (from a hosts
 * file of its own, so one name may have many), with TTL `localTtl` (dnsmasq's default 0 otherwise).
 */
export async function startDnsmasq(
  ns: string,
  address: string,
  records: Readonly<Record<string, string | readonly string[]>>,
  opts: { readonly localTtl?: number } = {},
): Promise<Dnsmasq> {
  const [name, first] = Object.entries(records)[0] ?? [];
  if (name === undefined || first === undefined) throw new Error("dnsmasq needs a name to answer");
  const probe = typeof first === "string" ? first : (first[0] ?? "");
  const dir = await mkdtemp(join(tmpdir(), "hostnet-dnsmasq-"));
  const hosts = join(dir, "hosts");
  const lines = Object.entries(records).flatMap(([n, ips]) =>
    (typeof ips === "string" ? [ips] : ips).map((ip) => `${ip} ${n}`),
  );
  await writeFile(hosts, `${lines.join("\n")}\n`);
  // nsenter execs dnsmasq: the child's PID is dnsmasq's. A pid file of its own, never the machine's.
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${ns}`,
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--listen-address=${address}`,
      "--port=53",
      `--pid-file=${join(dir, "dnsmasq.pid")}`,
      "--user=root",
      `--addn-hosts=${hosts}`,
      ...(opts.localTtl === undefined ? [] : [`--local-ttl=${String(opts.localTtl)}`]),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const answers = async (): Promise<boolean> =>
    child.exitCode === null &&
    (await run(inNs(ns, ["dig", "+short", "+time=1", "+tries=1", `@${address}`, name]))).stdout
      .trim()
      .split("\n")
      .includes(probe);
  if ((await within(5000, answers)) === undefined) {
    await stop();
    throw new Error(`dnsmasq in ${ns} did not answer: ${stderr.trim()}`);
  }
  return { stop };
}
