/**
 * What hostnetd needs of the host, checked before it touches anything: a Node it supports and the programs
 * it runs, each named with the Debian package that has it, so that a missing one is said plainly at start
 * rather than found by the first request that needs it.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The programs hostnetd runs, by the package that has them. */
const programs: readonly { readonly pkg: string; readonly commands: readonly string[] }[] = [
  { pkg: "iproute2", commands: ["ip", "tc", "bridge"] },
  { pkg: "nftables", commands: ["nft"] },
  { pkg: "conntrack", commands: ["conntrack"] },
  { pkg: "util-linux", commands: ["nsenter"] },
];

const parts = (v: string): number[] => v.split(".").map((p) => Number.parseInt(p, 10) || 0);

function atLeast(running: string, minimum: string): boolean {
  const [a, b] = [parts(running), parts(minimum)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Why this Node will not do, or undefined. `supported` is package.json's engines range, which hostnet keeps
 * as one lower bound (`>=20.19`).
 */
export function nodeProblem(running: string, supported: string): string | undefined {
  const minimum = /^>=\s*(\d+(?:\.\d+)*)$/.exec(supported.trim())?.[1];
  if (minimum === undefined) return undefined;
  return atLeast(running, minimum)
    ? undefined
    : `Node ${running} is too old: hostnet needs Node ${supported}`;
}

function onPath(command: string, path: string): boolean {
  return path
    .split(delimiter)
    .filter((dir) => dir !== "")
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** One line per package whose programs are not on `path`: `iproute2 (ip, tc)`. */
export function missingPrograms(path: string): string[] {
  return programs.flatMap(({ pkg, commands }) => {
    const missing = commands.filter((c) => !onPath(c, path));
    return missing.length === 0 ? [] : [`${pkg} (${missing.join(", ")})`];
  });
}
