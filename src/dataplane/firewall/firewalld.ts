/**
 * firewalld through its own D-Bus interface (`dbus-send`, which every D-Bus system bus comes with), never
 * its nft table. Only a firewalld that filters hostnetd's network namespace is hostnet's to change: one on
 * the same system bus but in another namespace (hostnetd in a container, or under test) is left alone.
 */
import { access, readFile, readlink } from "node:fs/promises";
import type { Runner } from "../linux/exec.js";
import { anyBridgeInterface } from "../naming.js";
import type { KernelObject } from "../objects.js";

const FIREWALLD = "org.fedoraproject.FirewallD1";

const dbusSend = (dest: string, path: string, method: string, args: readonly string[]): string[] => [
  "dbus-send",
  "--system",
  "--print-reply",
  `--dest=${dest}`,
  path,
  method,
  ...args.map((a) => `string:${a}`),
];

/** argv of a call to firewalld's zone interface, e.g. `addInterface trusted hnb-+`. */
export function firewalldArgv(line: string): string[] {
  const [method = "", ...args] = line.split(" ");
  return dbusSend(FIREWALLD, "/org/fedoraproject/FirewallD1", `${FIREWALLD}.zone.${method}`, args);
}

/** The values `dbus-send --print-reply` prints: `string "trusted"`, `uint32 1234`. */
function replyValues(stdout: string): string[] {
  return [...stdout.matchAll(/^\s*(?:string "(.*)"|u?int\d+ (\d+))$/gm)].map((m) => m[1] ?? m[2] ?? "");
}

/**
 * Whether a system bus could be there. dbus-send would fail without one too; this spares the process on
 * the many hosts that have none.
 */
async function maybeSystemBus(): Promise<boolean> {
  const address = process.env["DBUS_SYSTEM_BUS_ADDRESS"] ?? "unix:path=/run/dbus/system_bus_socket";
  const path = /^unix:path=([^,;]+)/.exec(address)?.[1];
  if (path === undefined) return true;
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Whether process `pid` is a firewalld in this process's network namespace. */
async function filtersOurNamespace(pid: number): Promise<boolean> {
  try {
    const [theirs, ours, cmdline] = await Promise.all([
      readlink(`/proc/${pid}/ns/net`),
      readlink("/proc/self/ns/net"),
      readFile(`/proc/${pid}/cmdline`, "utf8"),
    ]);
    // The bus's PID may belong to another PID namespace than ours: only the firewalld itself counts.
    return theirs === ours && cmdline.includes("firewalld");
  } catch {
    return false;
  }
}

/** The process that owns firewalld's name on the system bus, if one does. */
async function firewalldPid(runner: Runner): Promise<number | undefined> {
  if (!(await maybeSystemBus())) return undefined;
  const ask = dbusSend(
    "org.freedesktop.DBus",
    "/org/freedesktop/DBus",
    "org.freedesktop.DBus.GetConnectionUnixProcessID",
    [FIREWALLD],
  );
  try {
    return Number(replyValues((await runner.run(ask)).stdout)[0]);
  } catch {
    return undefined;
  }
}

/**
 * firewalld, if it runs for hostnetd's namespace, and the zone of hostnet's bridges in it. A firewalld that
 * does not answer (it is stopping, say) is taken for none.
 */
export async function observeFirewalld(
  runner: Runner,
): Promise<{ objects: KernelObject[]; running: boolean }> {
  const pid = await firewalldPid(runner);
  if (pid === undefined || !(await filtersOurNamespace(pid))) return { objects: [], running: false };
  const reply = await runner.run(firewalldArgv(`getZoneOfInterface ${anyBridgeInterface}`)).then(
    (r) => r.stdout,
    () => undefined,
  );
  if (reply === undefined) return { objects: [], running: false };
  const zone = replyValues(reply)[0] ?? "";
  const objects: KernelObject[] =
    zone === ""
      ? []
      : [{ kind: "firewalldInterface", owner: "firewall", zone, interface: anyBridgeInterface }];
  return { objects, running: true };
}

type FirewalldObject = Extract<KernelObject, { kind: "firewalldInterface" }>;

/** The calls that put hostnet's bridges in their zone, move them there, or take them out of it. */
export const firewalldCreateLine = (o: FirewalldObject): string => `addInterface ${o.zone} ${o.interface}`;
export const firewalldReplaceLine = (o: FirewalldObject): string =>
  `changeZoneOfInterface ${o.zone} ${o.interface}`;
export const firewalldDeleteLine = (o: FirewalldObject): string => `removeInterface ${o.zone} ${o.interface}`;
