/**
 * A real upstream DNS server for resolver tests: Debian's dnsmasq in a namespace of the test's, answering only
 * the names it is given (no /etc/hosts, no upstream of its own, no config file of the machine's), stopped by
 * its PID.
 */
import { spawn } from "node:child_process";
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

/** dnsmasq on `address` port 53 in `ns`, answering each name of `records` with its IPv4 address. */
export async function startDnsmasq(
  ns: string,
  address: string,
  records: Readonly<Record<string, string>>,
): Promise<Dnsmasq> {
  const [name] = Object.keys(records);
  if (name === undefined) throw new Error("dnsmasq needs a name to answer");
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      ns,
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--listen-address=${address}`,
      "--port=53",
      "--pid-file=",
      "--user=root",
      ...Object.entries(records).map(([n, ip]) => `--host-record=${n},${ip}`),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  };
  const answers = async (): Promise<boolean> =>
    child.exitCode === null &&
    (await run(inNs(ns, ["dig", "+short", "+time=1", "+tries=1", `@${address}`, name]))).stdout.trim() ===
      records[name];
  if ((await within(5000, answers)) === undefined) {
    await stop();
    throw new Error(`dnsmasq in ${ns} did not answer: ${stderr.trim()}`);
  }
  return { stop };
}
