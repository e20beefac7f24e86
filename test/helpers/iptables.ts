/** The iptables of a test's namespace, for tests of hostnet beside other firewalls. */
import { iptablesCommand, type IptablesBackend } from "../../src/dataplane/objects.js";
import { inNs, must } from "./run.js";

/** Runs one iptables command in `ns`; returns its output. */
export const iptables = (ns: string, backend: IptablesBackend, ...args: string[]): Promise<string> =>
  must(inNs(ns, [iptablesCommand(backend, 4), "-w", "5", ...args]));

/** The filter table's rules of `chain` (or all), as `iptables -S` shows them. */
export async function iptablesRules(ns: string, backend: IptablesBackend, chain?: string): Promise<string[]> {
  const listing = await iptables(ns, backend, "-t", "filter", "-S", ...(chain === undefined ? [] : [chain]));
  return listing.split("\n").filter((l) => l !== "");
}

/** The legacy x_tables tables the kernel has for `ns` (listing them with iptables-legacy would make one). */
export async function legacyTables(ns: string): Promise<string[]> {
  return (await must(inNs(ns, ["cat", "/proc/net/ip_tables_names"]))).split("\n").filter((l) => l !== "");
}
