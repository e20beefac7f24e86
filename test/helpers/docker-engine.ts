/**
 * A real Docker engine for an end-to-end test: Debian's docker.io 20.10 (dockerd, the containerd it starts,
 * runc) in a network namespace the test made, with a busybox image imported offline.
 *
 * dockerd runs in the test's network namespace (nsenter, which keeps /sys/fs/cgroup visible; `ip netns exec`
 * remounts /sys and dockerd then fails with "Devices cgroup isn't mounted") and in a private mount namespace
 * of its own, with its own --data-root, --exec-root, --pidfile, socket and (empty) --config-file under a
 * fresh temp directory, and containers under a cgroup parent named after the test. In that mount namespace
 * /run and /opt are empty tmpfs and /etc/docker is a directory of the engine's: dockerd finds plugins only
 * in /run/docker/plugins, where the caller's plugin directory is bind-mounted; what dockerd and containerd
 * would otherwise write there (/etc/docker/key.json, /run/containerd/s/ for the shims' sockets,
 * /opt/containerd/{bin,lib}, /run/docker/plugins itself) stays out of the machine's own files, and the
 * D-Bus socket under /run is out of reach (no firewalld of the machine to program). Only /etc/docker (and
 * /opt) are made in the real filesystem, as mount points, when missing (docker.io's package ships
 * /etc/docker); stop() removes them again, and any of those global paths the engine should still leave.
 *
 * Docker's default bridge and its iptables rules stay on, inside the namespace. dockerd sets the FORWARD
 * policy to DROP when it has to enable net.ipv4.ip_forward itself, that is when it starts before hostnetd
 * (which enables it in its namespace); hostnet's exception in DOCKER-USER lets its forwarding through either
 * way. Docker's iptables rules stay in the namespace until the test deletes it. Container sandboxes (exec-root/netns/*) are bind mounts in the
 * engine's mount namespace, invisible outside it: enter a container's namespace by its PID instead.
 *
 * restart() stops dockerd by PID and starts it again (a new mount namespace, the same directories). stop()
 * ends only what this engine started, by PID: dockerd, then whatever survives it that lives in its mount
 * namespace, in its cgroup parent or names its directory (containerd, containerd-shim-runc-v2, the
 * containers' processes).
 */
import { settlesWithin } from "./poll.js";
import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { needsRoot } from "./root.js";
import { inNs, must, run, type RunResult } from "./run.js";
import {
  cgroupDirs,
  isStatic,
  onPath,
  privateMountsArgv,
  rmdirTree,
  skipOrFailInCi,
  unmountAndRemove,
} from "./system.js";
import { failAfterCleanup } from "./cleanup.js";

export interface DockerEngine {
  /** Runs `docker -H unix://<socket> ...args` in the namespace. */
  docker(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** docker(), failing with its stderr unless it exits 0; returns stdout. */
  mustDocker(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** The busybox image imported offline; every busybox applet is on its PATH, CMD is /bin/sh. */
  readonly image: string;
  /** dockerd's PID (its network and mount namespaces are /proc/PID/ns/{net,mnt}). */
  readonly pid: number;
  readonly socket: string;
  /** dockerd's (and its containerd's) log. */
  logs(): string;
  /** Stops dockerd (which stops the containers) and starts it again on the same data root. */
  restart(): Promise<void>;
  /** Removes every container, stops dockerd and all it started, and removes everything it made. */
  stop(): Promise<void>;
}

export interface DockerEngineOptions {
  /** The network namespace (a name under /run/netns) dockerd runs in. */
  readonly netns: string;
  /**
   * Bind-mounted onto /run/docker/plugins for dockerd: the directory of hostnetd's plugin socket, made by
   * hostnetd or, for an engine that starts first, by the test.
   */
  readonly pluginDir: string;
  /** The test's prefix: names the cgroup parent of the containers. */
  readonly prefix: string;
  /** More dockerd flags, e.g. ["--bip", "172.30.0.1/24"]. */
  readonly dockerdArgs?: readonly string[];
}

const DOCKER_IMAGE = "hostnet-busybox:e2e";

/** Runs detached container `name`, whose busybox httpd serves on port 80 a page that says its name. */
export const runWebServer = (engine: DockerEngine, name: string, ...flags: string[]): Promise<string> =>
  engine.mustDocker(
    [
      "run",
      "--detach",
      "--name",
      name,
      ...flags,
      engine.image,
      "sh",
      "-c",
      `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 80 -h /www`,
    ],
    60_000,
  );
const BUSYBOX = "/bin/busybox";
/** docker.io's own CLI, even when another one comes first on PATH (a 28.x in /usr/local/bin here). */
const DOCKER_CLI = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
const TOOLS = [
  "dockerd",
  "containerd",
  "containerd-shim-runc-v2",
  "runc",
  "nsenter",
  "unshare",
  "setpriv",
  "tar",
];
const READY_MS = 30_000;
const STOP_MS = 20_000;

/**
 * Where dockerd and containerd write outside their own directories, deepest first: none of it should
 * reach the machine's files (see above), but stop() removes what the engine made should it.
 */
const GLOBAL_LEFTOVERS = [
  "/etc/docker/key.json",
  "/etc/docker",
  "/run/docker/plugins",
  "/run/docker",
  "/run/docker.pid",
  "/run/containerd/s",
  "/run/containerd",
  "/run/runc",
  "/run/mount",
  "/opt/containerd/bin",
  "/opt/containerd/lib",
  "/opt/containerd",
  "/opt",
  "/var/lib/docker",
  "/var/lib/containerd",
];

/**
 * In the engine's private mount namespace: tmpfs over /run and /opt, the plugin directory ($1) on
 * /run/docker/plugins and the engine's own directory ($2) on /etc/docker, then dockerd with the rest.
 * mount -n: libmount would otherwise make /run/mount in the real /run for its utab.
 */
const MOUNT_AND_EXEC = [
  "set -e",
  "mount -n -t tmpfs -o mode=755 hostnet-docker /run",
  "mount -n -t tmpfs -o mode=755 hostnet-docker /opt",
  "mkdir -p /run/docker/plugins",
  'mount -n --bind "$1" /run/docker/plugins',
  'mount -n --bind "$2" /etc/docker',
  "shift 2",
  'exec dockerd "$@"',
].join("\n");

/** Why the engine cannot run here, or undefined; under CI a reason is an error instead (root.ts for root). */
export function dockerSkipReason(): string | undefined {
  if (needsRoot) return "the Docker test needs root"; // root.ts has said so, and fails under CI
  const missing = TOOLS.filter((cmd) => !onPath(cmd));
  if (!existsSync(DOCKER_CLI) && !onPath(DOCKER_CLI)) missing.push("docker");
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX)) missing.push(`a static ${BUSYBOX} (busybox-static)`);
  if (missing.length === 0) return undefined;
  return skipOrFailInCi(`the Docker test needs ${missing.join(", ")}; scripts/install-deps.sh installs them`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A process that no longer exists or is a zombie. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/** SIGKILL by PID; a process that has exited meanwhile is no error. */
function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter((pid) => !gone(pid));
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter((pid) => !gone(pid));
  }
  return left;
}

const nsOf = (pid: number | "self", kind: "mnt" | "net"): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
};

/** The mount namespace of `pid` when it is not ours (it is ours until unshare has run). */
function privateMountNs(pid: number): string | undefined {
  const ns = nsOf(pid, "mnt");
  return ns !== undefined && ns !== nsOf("self", "mnt") ? ns : undefined;
}

/** Every PID in a cgroup directory and the ones below it. */
function cgroupPids(path: string): number[] {
  const pids = readFileSync(join(path, "cgroup.procs"), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map(Number);
  for (const entry of readdirSync(path, { withFileTypes: true }))
    if (entry.isDirectory()) pids.push(...cgroupPids(join(path, entry.name)));
  return pids;
}

/**
 * The processes this engine started: in its mount namespace (dockerd, containerd, the shims,
 * docker-proxy), in its cgroup parent (the containers' processes), or naming its directory.
 */
function engineProcesses(dir: string, mntNs: string | undefined, cgroupParent: string): number[] {
  if (mntNs === nsOf("self", "mnt")) throw new Error("the engine's mount namespace is the test's own");
  const pids = new Set<number>();
  for (const path of cgroupDirs(cgroupParent)) {
    try {
      for (const pid of cgroupPids(path)) pids.add(pid);
    } catch {
      // removed meanwhile
    }
  }
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (mntNs !== undefined && nsOf(pid, "mnt") === mntNs) pids.add(pid);
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/`)) pids.add(pid);
    } catch {
      // exited meanwhile
    }
  }
  pids.delete(process.pid);
  pids.delete(1);
  return [...pids].filter((pid) => !gone(pid));
}

/** A busybox rootfs with every applet linked, as a tar for `docker import`. */
async function busyboxTar(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
  for (const applet of (await must([BUSYBOX, "--list-full"])).split("\n").filter((l) => l !== "")) {
    const path = join(rootfs, applet);
    if (existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync("/bin/busybox", path);
  }
  mkdirSync(join(rootfs, "etc"));
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\n");
  for (const d of ["root", "tmp"]) mkdirSync(join(rootfs, d));
  chmodSync(join(rootfs, "tmp"), 0o1777);
  const tar = join(dir, "rootfs.tar");
  await must(["tar", "-C", rootfs, "--numeric-owner", "-cf", tar, "."]);
  rmSync(rootfs, { recursive: true, force: true });
  return tar;
}

export async function startDockerEngine(opts: DockerEngineOptions): Promise<DockerEngine> {
  const nsPath = `/run/netns/${opts.netns}`;
  // dockerd programs its namespace's links, routes, sysctls and iptables: never the machine's own.
  if (!existsSync(nsPath)) throw new Error(`no network namespace ${nsPath}`);
  if (statSync(nsPath).ino === statSync("/proc/self/ns/net").ino)
    throw new Error(`${nsPath} is this process's own network namespace; dockerd must not run there`);
  if (!statSync(opts.pluginDir, { throwIfNoEntry: false })?.isDirectory())
    throw new Error(`no plugin directory ${opts.pluginDir} (start hostnetd first, or make it)`);

  if (opts.prefix === "") throw new Error("the engine needs the test's prefix");
  const cgroupParent = `hostnet-docker-${opts.prefix}`;
  if (cgroupDirs(cgroupParent).length > 0) throw new Error(`cgroup ${cgroupParent} exists already`);

  const dir = mkdtempSync(join(tmpdir(), "hostnet-docker-"));
  const socket = join(dir, "docker.sock");
  const logFile = join(dir, "dockerd.log");
  const existedBefore = new Set(GLOBAL_LEFTOVERS.filter((p) => existsSync(p)));
  const cliEnv = [
    "env",
    "-u",
    "DOCKER_HOST",
    "-u",
    "DOCKER_CONTEXT",
    "-u",
    "DOCKER_TLS_VERIFY",
    `DOCKER_CONFIG=${join(dir, "cli")}`,
  ];
  const docker = (args: readonly string[], timeoutMs = 30_000): Promise<RunResult> =>
    run(inNs(opts.netns, [...cliEnv, DOCKER_CLI, "-H", `unix://${socket}`, ...args]), { timeoutMs });
  const mustDocker = async (args: readonly string[], timeoutMs = 30_000): Promise<string> => {
    const r = await docker(args, timeoutMs);
    if (r.code !== 0)
      throw new Error(`docker ${args.join(" ")} exited ${String(r.code)}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const logs = (): string => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const tail = (): string => logs().trimEnd().split("\n").slice(-40).join("\n");

  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let mntNs: string | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const errors: unknown[] = [];
    const attempt = (step: () => void): void => {
      try {
        step();
      } catch (err) {
        errors.push(err);
      }
    };
    const dockerd = child;
    const running = dockerd?.exitCode === null && dockerd.signalCode === null;
    if (running) {
      const ids = await docker(["ps", "--all", "--quiet"]);
      const list = ids.stdout.split("\n").filter((id) => id !== "");
      if (ids.code !== 0) errors.push(new Error(`docker ps: ${ids.stderr.trim()}`));
      else if (list.length > 0) {
        const rm = await docker(["rm", "--force", "--volumes", ...list], 60_000);
        if (rm.code !== 0) errors.push(new Error(`docker rm: ${rm.stderr.trim()}`));
      }
    }
    if (dockerd?.pid !== undefined && running) {
      mntNs ??= privateMountNs(dockerd.pid);
      dockerd.kill("SIGTERM");
      if (!(await settlesWithin(exit, STOP_MS))) {
        errors.push(
          new Error(`dockerd ${dockerd.pid} did not stop within ${STOP_MS} ms; killed:\n${tail()}`),
        );
        dockerd.kill("SIGKILL");
        await exit;
      }
    }
    // containerd normally stops with dockerd, and a shim with its container: end any that did not.
    try {
      const survivors = engineProcesses(dir, mntNs, cgroupParent);
      for (const pid of survivors) attempt(() => killPid(pid));
      const unkillable = await waitGone(survivors, 5_000);
      if (unkillable.length > 0)
        errors.push(new Error(`engine processes still alive: ${unkillable.join(", ")}`));
    } catch (err) {
      errors.push(err);
    }

    errors.push(...(await unmountAndRemove(dir)));
    // A cgroup is busy for a moment after its last process died.
    for (const path of cgroupDirs(cgroupParent)) {
      for (let i = 0; ; i++) {
        try {
          rmdirTree(path);
          break;
        } catch (err) {
          if (i >= 20) {
            errors.push(err);
            break;
          }
          await sleep(100);
        }
      }
    }
    for (const path of GLOBAL_LEFTOVERS.filter((p) => !existedBefore.has(p) && existsSync(p)))
      attempt(() => {
        if (!statSync(path).isDirectory()) rmSync(path, { force: true });
        else if (readdirSync(path).length === 0) rmdirSync(path);
        else throw new Error(`${path} was made while the engine ran and is not empty`);
      });
    if (errors.length > 0) throw new AggregateError(errors, "docker engine cleanup failed");
  };

  /** Starts dockerd with `argv` (nsenter's) and waits until it answers, in its own mount namespace. */
  const launch = async (argv: readonly string[]): Promise<void> => {
    const log = openSync(logFile, "a");
    try {
      // The child's PID is dockerd's (privateMountsArgv).
      const started = spawn("nsenter", argv, {
        stdio: ["ignore", log, log],
        env: { ...process.env, TMPDIR: join(dir, "tmp") },
      });
      child = started;
      exit = new Promise((resolve) => {
        started.once("exit", () => resolve());
        started.once("error", () => resolve());
      });
    } finally {
      closeSync(log);
    }
    const started = child;
    const pid = started.pid;
    if (pid === undefined) throw new Error(`nsenter did not start:\n${tail()}`);

    const deadline = Date.now() + READY_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null)
        throw new Error(`dockerd exited ${String(started.exitCode ?? started.signalCode)}:\n${tail()}`);
      const r = await docker(["version", "--format", "{{.Server.Version}}"], 5_000);
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${READY_MS} ms:\n${tail()}`);
      await sleep(100);
    }
    mntNs = privateMountNs(pid);
    if (mntNs === undefined) throw new Error(`dockerd ${pid} is not in a mount namespace of its own`);
    if (nsOf(pid, "net") !== `net:[${statSync(nsPath).ino}]`)
      throw new Error(`dockerd ${pid} is not in the network namespace ${nsPath}`);
  };

  try {
    const etcDocker = join(dir, "etc-docker");
    for (const d of ["data", "exec", "tmp", "cli", "etc-docker"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "daemon.json"), "{}\n");
    // Mount points; stop() removes them again (GLOBAL_LEFTOVERS) when the engine made them.
    for (const point of ["/etc/docker", "/opt"]) if (!existsSync(point)) mkdirSync(point);
    const dockerd = [
      "--config-file",
      join(dir, "daemon.json"),
      "--data-root",
      join(dir, "data"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "docker.pid"),
      "--host",
      `unix://${socket}`,
      "--cgroup-parent",
      `/${cgroupParent}`,
      "--storage-driver",
      "vfs",
      ...(opts.dockerdArgs ?? []),
    ];
    // Should the test process die without stop(), dockerd stops too (and its containers with it).
    const argv = privateMountsArgv(nsPath, MOUNT_AND_EXEC, [opts.pluginDir, etcDocker, ...dockerd]);
    await launch(argv);
    await mustDocker(["import", "--change", 'CMD ["/bin/sh"]', await busyboxTar(dir), DOCKER_IMAGE], 60_000);

    return {
      docker,
      mustDocker,
      image: DOCKER_IMAGE,
      get pid() {
        return child?.pid ?? -1;
      },
      socket,
      logs,
      async restart() {
        const dockerd = child;
        if (dockerd?.exitCode !== null || dockerd.signalCode !== null)
          throw new Error("dockerd is not running");
        dockerd.kill("SIGTERM");
        if (!(await settlesWithin(exit, STOP_MS)))
          throw new Error(`dockerd ${String(dockerd.pid)} did not stop within ${STOP_MS} ms:\n${tail()}`);
        await launch(argv);
      },
      stop,
    };
  } catch (err) {
    return await failAfterCleanup(err, stop, "the docker engine");
  }
}
