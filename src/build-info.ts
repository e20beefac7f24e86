/**
 * What hostnet knows of its own package wherever it is installed: its root (the folder of its package.json,
 * found from this file whether it runs from src/ or dist/src/), its version, the commit it was built from
 * (dist/build-info.json, written by `npm run build`) and the Node versions it supports.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(dir: string): string {
  if (existsSync(join(dir, "package.json"))) return dir;
  if (dirname(dir) === dir) throw new Error("hostnet's package.json is missing");
  return findRoot(dirname(dir));
}

const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

const manifest = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
  version: string;
  engines: { node: string };
};

export const version = manifest.version;

/** The `engines.node` range of package.json, such as `>=20.19`. */
export const supportedNode = manifest.engines.node;

function readCommit(): string {
  try {
    const info = JSON.parse(readFileSync(join(packageRoot, "dist", "build-info.json"), "utf8")) as {
      commit?: unknown;
    };
    return typeof info.commit === "string" ? info.commit : "unknown";
  } catch {
    return "unknown";
  }
}

export const commit = readCommit();

/** `hostnet 0.1.0 (commit 04148f4)`: what --version prints. */
export const versionLine = (command: string): string => `${command} ${version} (commit ${commit})`;

/** The CNI plugin executable: built by `npm run build`, or chosen when the package was installed. */
export const cniPlugin = join(packageRoot, "dist", "cni", "hostnet-cni");
