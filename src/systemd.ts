/**
 * Readiness for systemd (`Type=notify`): READY=1 once the startup converge has finished and the socket
 * answers. Node has no unix datagram sockets, so `systemd-notify` sends it, through the one door to
 * processes; the unit sets `NotifyAccess=all` since the sender is hostnetd's child. systemd-notify waits
 * until systemd has read the message (a barrier), so systemd never misses it for a process already gone.
 */
import { processRunner, type Runner } from "./dataplane/linux/exec.js";

/** Tells the service manager hostnetd is ready, with a status line; nothing without one ($NOTIFY_SOCKET). */
export async function notifyReady(
  status: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  runner: Runner = processRunner,
): Promise<boolean> {
  if (env["NOTIFY_SOCKET"] === undefined || env["NOTIFY_SOCKET"] === "") return false;
  await runner.run(["systemd-notify", "--ready", `--status=${status}`]);
  return true;
}
