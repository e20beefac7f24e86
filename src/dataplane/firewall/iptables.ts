/**
 * The iptables filter tables of hostnetd's namespace, both backends (iptables-nft and iptables-legacy, which
 * can both hold rules on one host) and both families: read with `iptables -S`, changed with one
 * `iptables-restore --noflush` per table, which changes nothing else in it.
 */
import { readFile } from "node:fs/promises";
import type { Runner } from "../linux/exec.js";
import { IPTABLES_CHAIN } from "../naming.js";
import { iptablesCommand, type IptablesBackend, type IptablesHook, type KernelObject } from "../objects.js";
import type { IptablesForwarding } from "./exceptions.js";

const backends: readonly IptablesBackend[] = ["nft", "legacy"];
const families = [4, 6] as const;
const hooks: readonly IptablesHook[] = ["DOCKER-USER", "FORWARD"];

/** Waits for the xtables lock (iptables-legacy's) rather than failing while Docker holds it. */
const WAIT = ["-w", "5"];

export const iptablesRestoreArgv = (backend: IptablesBackend, family: 4 | 6): string[] => [
  `${iptablesCommand(backend, family)}-restore`,
  ...WAIT,
  "--noflush",
];

/** An `iptables-restore` input for one table: its lines between `*filter` and `COMMIT`. */
export const iptablesRestoreInput = (lines: readonly string[]): string =>
  `*filter\n${lines.join("\n")}\nCOMMIT\n`;

/**
 * What one filter table does with forwarding, and hostnet's chain and jumps in it, from `iptables -S`.
 * A jump is hostnet's by its target, hostnet's chain.
 */
export function parseFilterTable(
  backend: IptablesBackend,
  family: 4 | 6,
  listing: string,
): { forwarding: IptablesForwarding; objects: KernelObject[] } {
  const lines = listing.split("\n");
  const rulesOf = (chain: string): string[] =>
    lines.filter((l) => l.startsWith(`-A ${chain} `)).map((l) => l.slice(`-A ${chain} `.length));
  const forward = rulesOf("FORWARD");
  const last = forward.at(-1);
  const forwarding: IptablesForwarding = {
    backend,
    family,
    dockerUser: lines.includes("-N DOCKER-USER"),
    forwardDrops:
      lines.includes("-P FORWARD DROP") || (last !== undefined && /^-j (DROP|REJECT)\b/.test(last)),
  };
  const objects: KernelObject[] = [];
  if (lines.includes(`-N ${IPTABLES_CHAIN}`))
    objects.push({
      kind: "iptablesChain",
      owner: "firewall",
      backend,
      family,
      rules: rulesOf(IPTABLES_CHAIN),
    });
  const jump = new RegExp(`(^| )-j ${IPTABLES_CHAIN}( |$)`);
  for (const hook of hooks)
    for (const rule of rulesOf(hook))
      if (jump.test(rule))
        objects.push({ kind: "iptablesJump", owner: "firewall", backend, family, hook, rule });
  return { forwarding, objects };
}

/**
 * Whether iptables-legacy has a filter table here. Listing it would make one (and hook it into every packet
 * of the namespace), so the kernel's list of legacy tables is read instead.
 */
async function hasLegacyFilter(family: 4 | 6): Promise<boolean> {
  const names = await readFile(`/proc/net/${family === 6 ? "ip6" : "ip"}_tables_names`, "utf8").catch(
    () => "",
  );
  return names.split("\n").includes("filter");
}

/**
 * Every filter table there is. One that cannot be read (that iptables is not installed, or its table holds
 * rules it cannot show) is left out: hostnet can neither see a drop there nor change it.
 */
export async function observeIptables(
  runner: Runner,
): Promise<{ objects: KernelObject[]; tables: IptablesForwarding[] }> {
  const tables = await Promise.all(
    backends.flatMap((backend) =>
      families.map(async (family) => {
        if (backend === "legacy" && !(await hasLegacyFilter(family))) return [];
        try {
          const { stdout } = await runner.run([
            iptablesCommand(backend, family),
            ...WAIT,
            "-t",
            "filter",
            "-S",
          ]);
          return [parseFilterTable(backend, family, stdout)];
        } catch {
          return [];
        }
      }),
    ),
  );
  const read = tables.flat();
  return { objects: read.flatMap((t) => t.objects), tables: read.map((t) => t.forwarding) };
}

type IptablesObject = Extract<KernelObject, { kind: "iptablesChain" | "iptablesJump" }>;

/**
 * `iptables-restore` lines that make an object: a jump first in its chain; hostnet's chain declared (which
 * under --noflush empties it when it exists, so a changed chain is made again the same way) with its rules.
 */
export const iptablesCreateLines = (o: IptablesObject): string[] =>
  o.kind === "iptablesChain"
    ? [`:${IPTABLES_CHAIN} - [0:0]`, ...o.rules.map((r) => `-A ${IPTABLES_CHAIN} ${r}`)]
    : [`-I ${o.hook} 1 ${o.rule}`];

/** `iptables-restore` lines that remove an object as it was observed. */
export const iptablesDeleteLines = (o: IptablesObject): string[] =>
  o.kind === "iptablesChain" ? [`-F ${IPTABLES_CHAIN}`, `-X ${IPTABLES_CHAIN}`] : [`-D ${o.hook} ${o.rule}`];
