/**
 * A real runtime end to end: Podman 4.3 (Debian's, CNI backend, runc) runs a busybox container on a hostnet
 * network through the installed plugin, publishes a port that answers from the external namespace, reaches
 * the external namespace itself, finds another container by name, alias and short id through hostnet's
 * resolver (which Podman's resolv.conf names, from the CNI result), and its removal runs CNI DEL until hostnet
 * has nothing left.
 *
 * Podman runs inside the test's host namespace (nsenter, keeping the mount namespace so cgroups stay
 * visible and the container netns it makes under /run/netns is seen by hostnetd) with its own storage,
 * runtime state, containers.conf and CNI directories. What it still writes elsewhere (cgroups under a
 * parent of the test's own, libcni's result cache, the image blob cache, the short-name alias lock, runc's
 * default root) is removed again when the test made it.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab, type EndpointBody } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run, type RunResult } from "../helpers/run.js";
import {
  cgroupDirs,
  isStatic,
  unmountAndRemove,
  onPath,
  processAlive,
  rmdirTree,
  skipOrFailInCi,
} from "../helpers/system.js";
import { startHostServer } from "../helpers/traffic.js";

const HOSTNET_CLI = join(import.meta.dirname, "../../dist/bin/hostnet.js");
const BUSYBOX = "/bin/busybox";
const IMAGE = "localhost/hostnet-busybox:e2e";
const SUBNET = "10.62.0.0/24";
const HOST_PORT = 30080;
const EXT_PORT = 7000;

/** What Podman writes outside its --root and --runroot, deepest first; removed when the test made it. */
const GLOBAL_LEFTOVERS = [
  "/var/cache/containers/short-name-aliases.conf.lock",
  "/var/cache/containers",
  "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
  "/var/lib/containers/cache",
  "/var/lib/containers",
  "/var/lib/cni/results",
  "/var/lib/cni",
  "/run/runc",
];

function whySkip(): string | undefined {
  if (needsRoot) return undefined; // root.ts says why
  const missing = ["podman", "runc"].filter((cmd) => !onPath(cmd));
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX)) missing.push(`a static ${BUSYBOX} (busybox-static)`);
  if (missing.length === 0) return undefined;
  return skipOrFailInCi(`the Podman test needs ${missing.join(", ")}; scripts/install-deps.sh installs them`);
}
const skipReason = whySkip();

interface Inspected {
  Id: string;
  State: { Pid: number; ConmonPid: number; Running: boolean };
  NetworkSettings: { SandboxKey: string; Networks: Record<string, { IPAddress: string }> };
}

describe.skipIf(needsRoot || skipReason !== undefined)(
  "Podman with its CNI backend on a hostnet network",
  () => {
    const lab = useLab();
    let dir: string;
    let confName: string;
    let podmanEnv: string[];
    let podmanArgs: string[];
    let cgroupParent: string;
    /** Processes and namespaces of containers started, for cleanup should Podman not remove them. */
    const started: { pids: [number, string][]; netns: string }[] = [];

    const podman = (args: readonly string[], timeoutMs = 30_000): Promise<RunResult> =>
      run(inNs(lab.t.host, ["env", ...podmanEnv, ...podmanArgs, ...args]), { timeoutMs });
    const mustPodman = async (args: readonly string[], timeoutMs = 30_000): Promise<string> => {
      const r = await podman(args, timeoutMs);
      if (r.code !== 0)
        throw new Error(`podman ${args.join(" ")} exited ${String(r.code)}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const inspect = async (name: string): Promise<Inspected> => {
      const [c] = JSON.parse(await mustPodman(["container", "inspect", name])) as Inspected[];
      if (c === undefined) throw new Error(`podman inspect ${name} returned nothing`);
      return c;
    };
    const endpoints = (): Promise<EndpointBody[]> => lab.d.ok<EndpointBody[]>("GET", "/endpoints");
    /** `podman run --detach` of the image on the network, its processes and netns kept for the cleanup. */
    const runContainer = async (
      name: string,
      options: readonly string[],
      command: readonly [string, ...string[]],
    ): Promise<Inspected> => {
      const id = await mustPodman([
        "run",
        "--detach",
        "--pull=never",
        "--name",
        name,
        "--network",
        confName,
        ...options,
        "--cgroup-parent",
        `/${cgroupParent}`,
        IMAGE,
        ...command,
      ]);
      const c = await inspect(id.trim());
      started.push({
        pids: [
          [c.State.ConmonPid, "conmon"],
          [c.State.Pid, command[0]],
        ],
        netns: c.NetworkSettings.SandboxKey,
      });
      return c;
    };

    beforeAll(async () => {
      const t = lab.t;
      dir = mkdtempSync(join(tmpdir(), "hostnet-podman-"));
      confName = `hostnet-${t.prefix}`;
      cgroupParent = `hostnet-podman-${t.prefix}`;
      const existedBefore = new Set(GLOBAL_LEFTOVERS.filter((p) => existsSync(p)));
      lab.cleanup.add(async () => {
        const errors: unknown[] = [];
        const attempt = (step: () => void): void => {
          try {
            step();
          } catch (err) {
            errors.push(err);
          }
        };
        errors.push(...(await unmountAndRemove(dir)));
        for (const path of cgroupDirs(cgroupParent)) attempt(() => rmdirTree(path));
        for (const path of GLOBAL_LEFTOVERS.filter((p) => !existedBefore.has(p) && existsSync(p)))
          attempt(() => {
            if (!statSync(path).isDirectory()) rmSync(path, { force: true });
            else if (readdirSync(path).length === 0) rmdirSync(path);
          });
        if (errors.length > 0) throw new AggregateError(errors, "podman test cleanup failed");
      });

      // The plugin, installed beside a configuration list naming this test's hostnetd.
      const bin = join(dir, "cni-bin");
      const conf = join(dir, "cni-conf");
      mkdirSync(conf, { recursive: true });
      const conflist = {
        cniVersion: "1.0.0",
        name: confName,
        plugins: [
          {
            type: "hostnet",
            network: "podman",
            socket: lab.d.socket,
            ipam: { subnet: SUBNET },
            capabilities: { portMappings: true, aliases: true },
          },
        ],
      };
      writeFileSync(join(conf, "10-hostnet.conflist"), `${JSON.stringify(conflist, null, 2)}\n`);
      await must([process.execPath, HOSTNET_CLI, "install-cni", "--bin-dir", bin, "--conf-dir", conf]);
      expect(JSON.parse(readFileSync(join(conf, "10-hostnet.conflist"), "utf8"))).toEqual(conflist);

      mkdirSync(join(dir, "tmp"));
      const containersConf = join(dir, "containers.conf");
      writeFileSync(
        containersConf,
        [
          "[containers]",
          // Podman raises nofile and nproc to limits this sandbox refuses ("error setting rlimit type 7").
          'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
          "[engine]",
          // crun 1.8 refuses hybrid cgroups such as this machine's: "cgroups in hybrid mode not
          // supported, drop all controllers from cgroupv2"; runc runs there.
          'runtime = "runc"',
          'cgroup_manager = "cgroupfs"',
          'events_logger = "file"',
          `events_logfile_path = "${join(dir, "events.log")}"`,
          `tmp_dir = "${join(dir, "tmp")}"`,
          `image_copy_tmp_dir = "${join(dir, "tmp")}"`,
          "[network]",
          'network_backend = "cni"',
          `cni_plugin_dirs = ["${bin}", "/usr/lib/cni"]`,
          `network_config_dir = "${conf}"`,
          "",
        ].join("\n"),
      );
      podmanEnv = [`CONTAINERS_CONF=${containersConf}`, `TMPDIR=${join(dir, "tmp")}`];
      podmanArgs = [
        "podman",
        "--root",
        join(dir, "root"),
        "--runroot",
        join(dir, "runroot"),
        "--storage-driver",
        "vfs",
        "--runtime-flag",
        `root=${join(dir, "runc")}`,
      ];

      // Registered after the directory's removal, so it runs before it (and before hostnetd stops).
      lab.cleanup.add(async () => {
        await podman(["rm", "--all", "--force", "--time", "0"]);
        for (const c of started) {
          for (const [pid, command] of c.pids) if (processAlive(pid, command)) process.kill(pid, "SIGKILL");
          const ns = basename(c.netns);
          if (ns.startsWith("netns-") && existsSync(c.netns)) await run(["ip", "netns", "del", ns]);
        }
      });

      // A busybox rootfs: httpd with a CGI that says who asked, and nc.
      const rootfs = join(dir, "rootfs");
      mkdirSync(join(rootfs, "bin"), { recursive: true });
      mkdirSync(join(rootfs, "www/cgi-bin"), { recursive: true });
      copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
      for (const applet of ["sh", "httpd", "nc", "ip", "cat", "sleep", "nslookup"])
        symlinkSync("busybox", join(rootfs, "bin", applet));
      const cgi = join(rootfs, "www/cgi-bin/peer");
      writeFileSync(cgi, "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$REMOTE_ADDR\"\n");
      chmodSync(cgi, 0o755);
      await must(["tar", "-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
      await mustPodman(["import", "--quiet", join(dir, "rootfs.tar"), IMAGE]);
    });

    it("runs a container whose published port answers from outside and which reaches outside", async () => {
      const t = lab.t;
      const c = await runContainer(
        "web",
        ["--publish", `${HOST_PORT}:80`],
        ["httpd", "-f", "-p", "0.0.0.0:80", "-h", "/www"],
      );
      expect(c.State.Running).toBe(true);
      const address = c.NetworkSettings.Networks[confName]?.IPAddress ?? "";
      expect(address).toMatch(/^10\.62\.0\.\d+$/);

      // hostnet made one endpoint for it, on the network it created on first use, in Podman's netns.
      const [ep, ...more] = await endpoints();
      expect(more).toEqual([]);
      expect(ep?.Name).toBe(`cni-${c.Id.slice(0, 12)}`);
      expect(ep?.IpConfigurations.map((ip) => ip.IpAddress)).toEqual([address]);
      const inside = await must([
        "ip",
        "-n",
        basename(c.NetworkSettings.SandboxKey),
        "-o",
        "-4",
        "addr",
        "show",
        "dev",
        "eth0",
      ]);
      expect(inside).toContain(`${address}/24`);

      // The published port, from the external namespace: httpd sees the client's own address.
      const http = await run(
        inNs(t.ext, ["socat", "-T", "3", "-", `TCP4:${t.hostIp4}:${HOST_PORT},connect-timeout=3`]),
        { input: "GET /cgi-bin/peer HTTP/1.0\r\n\r\n", timeoutMs: 10_000 },
      );
      expect(http.stdout).toMatch(/^HTTP\/1\.[01] 200/);
      expect(http.stdout.trimEnd().split("\n").at(-1)).toBe(t.extIp4);

      // And out: a server in the external namespace sees the host's uplink address (masquerade).
      const server = await startHostServer(t.ext, t.extIp4, EXT_PORT);
      try {
        const out = await mustPodman(["exec", "web", "nc", "-w", "3", t.extIp4, String(EXT_PORT)]);
        expect(out.trim()).toBe(t.hostIp4);
      } finally {
        await server.stop();
      }
    });

    it("resolves a container by name: Podman's aliases reach hostnet's resolver, named in resolv.conf", async () => {
      const db = await runContainer("db", ["--network-alias", "database"], ["sleep", "3600"]);
      await runContainer("app", [], ["sleep", "3600"]);
      const address = db.NetworkSettings.Networks[confName]?.IPAddress ?? "";
      expect(address).toMatch(/^10\.62\.0\.\d+$/);
      // Podman writes resolv.conf from the CNI result: the network's resolver first.
      expect(await mustPodman(["exec", "app", "cat", "/etc/resolv.conf"])).toMatch(
        /^nameserver 10\.62\.0\.1$/m,
      );
      for (const name of ["db", "database", db.Id.slice(0, 12)])
        expect(await mustPodman(["exec", "app", "nslookup", name]), name).toContain(`Address: ${address}`);
      await mustPodman(["rm", "--force", "--time", "0", "db"]);
      expect((await podman(["exec", "app", "nslookup", "db"])).stdout).toMatch(/NXDOMAIN|can't find/);
      await mustPodman(["rm", "--force", "--time", "0", "app"]);
    });

    // Podman validates the list with VERSION, whose stdin has no socket: the plugin answers it alone.
    it("Podman accepts the configuration list naming hostnetd by its socket key alone", async () => {
      const r = await podman(["network", "ls", "--format", "{{.Name}}"]);
      expect(r.stderr).not.toContain("Error validating CNI config file");
      expect(r.stdout.split("\n")).toContain(confName);
    });

    it("podman rm runs CNI DEL: no endpoint, no netns, no veth left, and nothing to converge", async () => {
      const c = await inspect("web");
      await mustPodman(["rm", "--force", "--time", "0", "web"]);
      expect(await endpoints()).toEqual([]);
      expect(await lab.plan()).toEqual([]);
      expect(existsSync(c.NetworkSettings.SandboxKey)).toBe(false);
      expect(await must(["ip", "-n", lab.t.host, "-o", "link", "show"])).not.toMatch(/hnv-/);
      expect(existsSync(`/var/lib/cni/results/${confName}-${c.Id}-eth0`)).toBe(false);
      expect(processAlive(c.State.ConmonPid, "conmon")).toBe(false);
    });
  },
);
