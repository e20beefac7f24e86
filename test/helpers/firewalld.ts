/**
 * A real firewalld (its nftables backend) for a test, filtering the test's host namespace. It needs a D-Bus
 * system bus: a dbus-daemon of the test's own, whose socket is in a temp directory, is that bus for
 * firewalld, for firewall-cmd and for the hostnetd under test (DBUS_SYSTEM_BUS_ADDRESS). Both daemons run in
 * the test's network namespace (nsenter) and in a private mount namespace whose /run is an empty tmpfs
 * (firewalld writes /run/firewalld); firewalld reads its configuration from a copy in the temp directory
 * (--system-config), logs there, and writes no pid file. Nothing of the machine's own is read or changed
 * but firewalld's shipped defaults, read. stop() ends firewalld by PID (which removes its table) and the
 * bus with it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { failAfterCleanup } from "./cleanup.js";
import { settlesWithin } from "./poll.js";
import { needsRoot } from "./root.js";
import { run, type RunResult } from "./run.js";
import { onPath, privateMountsArgv, processAlive, skipOrFailInCi } from "./system.js";

export interface Firewalld {
  /** The test's system bus, for hostnetd (DBUS_SYSTEM_BUS_ADDRESS). */
  readonly busAddress: string;
  /** Runs firewall-cmd against this firewalld. */
  cmd(args: readonly string[]): Promise<RunResult>;
  /** firewalld's log. */
  logs(): string;
  stop(): Promise<void>;
}

const TOOLS = ["firewalld", "firewall-cmd", "dbus-daemon", "dbus-send", "nsenter", "unshare", "setpriv"];
const READY_MS = 60_000;
const STOP_MS = 20_000;

/** Why firewalld cannot run here, or undefined; under CI a reason is an error instead. */
export function firewalldSkipReason(): string | undefined {
  if (needsRoot) return "the firewalld test needs root";
  const missing = TOOLS.filter((cmd) => !onPath(cmd));
  if (missing.length === 0) return undefined;
  return skipOrFailInCi(
    `the firewalld test needs ${missing.join(", ")}; scripts/install-deps.sh installs them`,
  );
}

/** A system bus that lets root own and call anything (firewalld's own policy file is not needed). */
const busConfig = (
  socket: string,
): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

/**
 * In the private mount namespace: a tmpfs on /run, the bus (ended with its parent, firewalld, which the
 * shell becomes), then firewalld. mount -n: libmount would otherwise make /run/mount in the real /run.
 */
const MOUNT_AND_EXEC = [
  "set -e",
  "mount -n -t tmpfs -o mode=755 hostnet-firewalld /run",
  "mkdir -p /run/firewalld",
  'setpriv --pdeathsig TERM dbus-daemon --config-file="$1/bus.conf" --nofork --nopidfile --nosyslog &',
  'echo $! > "$1/dbus.pid"',
  'i=0; while [ ! -S "$1/system_bus_socket" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done',
  'exec firewalld --nofork --nopid --system-config "$1/etc" --log-target file --log-file "$1/firewalld.log"',
].join("\n");

export async function startFirewalld(netns: string): Promise<Firewalld> {
  const nsPath = `/run/netns/${netns}`;
  // firewalld programs the nftables of the namespace it runs in: never the machine's own.
  if (!existsSync(nsPath)) throw new Error(`no network namespace ${nsPath}`);
  if (statSync(nsPath).ino === statSync("/proc/self/ns/net").ino)
    throw new Error(`${nsPath} is this process's own network namespace; firewalld must not run there`);

  const dir = mkdtempSync(join(tmpdir(), "hostnet-firewalld-"));
  const busAddress = `unix:path=${join(dir, "system_bus_socket")}`;
  const env = ["env", `DBUS_SYSTEM_BUS_ADDRESS=${busAddress}`];
  const cmd = (args: readonly string[]): Promise<RunResult> =>
    run([...env, "firewall-cmd", ...args], { timeoutMs: 30_000 });
  const logs = (): string => {
    try {
      return readFileSync(join(dir, "firewalld.log"), "utf8");
    } catch {
      return "";
    }
  };

  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    if (child?.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if (!(await settlesWithin(exit, STOP_MS))) {
        errors.push(
          new Error(`firewalld ${String(child.pid)} did not stop within ${STOP_MS} ms:\n${logs()}`),
        );
        child.kill("SIGKILL");
        await exit;
      }
    }
    // The bus ends with firewalld (its parent death signal); one that outlived it is ended here.
    const busPid = Number(
      existsSync(join(dir, "dbus.pid")) ? readFileSync(join(dir, "dbus.pid"), "utf8") : "",
    );
    if (busPid > 0 && processAlive(busPid, "dbus-daemon")) process.kill(busPid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, "firewalld cleanup failed");
  };

  try {
    writeFileSync(join(dir, "bus.conf"), busConfig(join(dir, "system_bus_socket")));
    cpSync("/etc/firewalld", join(dir, "etc"), { recursive: true });
    // Should the test process die without stop(), firewalld stops too (and the bus with it).
    const started = spawn("nsenter", privateMountsArgv(nsPath, MOUNT_AND_EXEC, [dir]), {
      stdio: "ignore",
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress },
    });
    child = started;
    exit = new Promise((resolve) => {
      started.once("exit", () => resolve());
      started.once("error", () => resolve());
    });
    const deadline = Date.now() + READY_MS;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null)
        throw new Error(`firewalld exited ${String(started.exitCode ?? started.signalCode)}:\n${logs()}`);
      if ((await cmd(["--state"])).stdout.trim() === "running") break;
      if (Date.now() > deadline) throw new Error(`firewalld did not start within ${READY_MS} ms:\n${logs()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { busAddress, cmd, logs, stop };
  } catch (err) {
    return await failAfterCleanup(err, stop, "firewalld");
  }
}
