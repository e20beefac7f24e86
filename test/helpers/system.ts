/**
 * What tests that run real runtimes (Podman, Docker) ask of this machine: which executables it has, and
 * what such a runtime left behind (mounts, cgroups, processes) so the test can remove exactly that.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";

const CGROUP_ROOT = "/sys/fs/cgroup";

export const onPath = (cmd: string): boolean =>
  (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, cmd)));

/** Whether an ELF executable has no program interpreter, i.e. runs in a rootfs without a libc. */
export function isStatic(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.toString("latin1", 1, 4) !== "ELF" || header[4] !== 2) return false;
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * A test that cannot run here says why and is skipped; under CI, where a skipped suite tests nothing, the
 * reason is an error instead.
 */
export function skipOrFailInCi(message: string): string {
  if (process.env["CI"] !== undefined && process.env["CI"] !== "") throw new Error(message);
  process.stderr.write(`${message}; skipping it\n`);
  return message;
}

/**
 * nsenter's arguments to run `script` (with `args` as $1…) in network namespace `nsPath` and in a private
 * mount namespace, as root daemons of a test run so that their mounts stay theirs. nsenter, unshare, setpriv
 * and sh each exec the next, so the process is the script's (and whatever it execs); should the test process
 * die first, it gets SIGTERM.
 */
export const privateMountsArgv = (nsPath: string, script: string, args: readonly string[]): string[] => [
  `--net=${nsPath}`,
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "setpriv",
  "--pdeathsig",
  "TERM",
  "sh",
  "-c",
  script,
  "sh",
  ...args,
];

/** Mount points at or below `dir` in our mount namespace, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes a cgroup directory and the ones below it (rmdir only: cgroupfs allows nothing else). */
export function rmdirTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true }))
    if (entry.isDirectory()) rmdirTree(join(path, entry.name));
  rmdirSync(path);
}

/** The cgroup directories named `parent` (a path from a hierarchy's root), in every hierarchy (v1 or v2). */
export function cgroupDirs(parent: string): string[] {
  const hierarchies = readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(CGROUP_ROOT, e.name));
  return [CGROUP_ROOT, ...hierarchies].map((h) => join(h, parent)).filter((p) => existsSync(p));
}

/** Whether process `pid` exists and its command line contains `command` (a zombie's is empty). */
export function processAlive(pid: number, command: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(command);
  } catch {
    return false;
  }
}

/** Unmounts whatever is still mounted below `dir`, then removes it; returns what went wrong. */
export async function unmountAndRemove(dir: string): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const point of mountsUnder(dir)) {
    const r = await run(["umount", "-l", point]);
    if (r.code !== 0) errors.push(new Error(`umount ${point}: ${r.stderr.trim()}`));
  }
  if (mountsUnder(dir).length === 0)
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      errors.push(err);
    }
  return errors;
}
