/**
 * DHCP clients for endpoints whose addresses come from the LAN: one busybox udhcpc per endpoint, inside the
 * endpoint's namespace, kept running so it renews its lease. udhcpc only reports: its script prints each
 * event on udhcpc's stdout, where hostnetd reads it and records the lease; hostnet's reconciler, not the
 * client, puts the address on the interface. Clients die with hostnetd (setpriv --pdeathsig), and are
 * started again, asking for the same address, when it starts.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { startDaemonised, type Daemonised } from "./exec.js";

export type DhcpEvent =
  | {
      readonly kind: "lease";
      readonly address: string;
      readonly prefixLength: number;
      readonly router: string | null;
    }
  | { readonly kind: "lost" };

export interface DhcpClientSpec {
  readonly key: string;
  readonly netns: string;
  readonly ifname: string;
  readonly hostname: string;
  /** The address to ask for again, from the last lease. */
  readonly previous: string | null;
}

export interface DhcpClients {
  /** `onEvent` records an event; the client does not wait for it. */
  start(spec: DhcpClientSpec, onEvent: (event: DhcpEvent) => Promise<void>): void;
  stop(key: string): void;
  stopAll(): void;
}

const MARK = "hostnet-dhcp";
/** udhcpc runs its script with the event as $1 and the lease in the environment. */
const SCRIPT = `#!/bin/sh
echo "${MARK} $1 \${ip:-} \${mask:-} \${router%% *}"
`;

/** A line of the script's output as an event; other output (udhcpc's own messages) is not one. */
export function parseEvent(line: string): DhcpEvent | undefined {
  const [mark, event, ip, mask, router] = line.trim().split(/\s+/);
  if (mark !== MARK) return undefined;
  if (
    (event === "bound" || event === "renew") &&
    ip !== undefined &&
    mask !== undefined &&
    /^\d+$/.test(mask)
  )
    return {
      kind: "lease",
      address: ip,
      prefixLength: Number(mask),
      router: router === undefined || router === "" ? null : router,
    };
  if (event === "deconfig" || event === "leasefail" || event === "nak") return { kind: "lost" };
  return undefined;
}

export function udhcpcArgv(spec: DhcpClientSpec, script: string): string[] {
  return [
    "setpriv",
    "--pdeathsig",
    "KILL",
    "nsenter",
    `--net=${spec.netns}`,
    "busybox",
    "udhcpc",
    "-f",
    "-i",
    spec.ifname,
    "-s",
    script,
    "-t",
    "5",
    "-T",
    "2",
    "-A",
    "5",
    "-x",
    `hostname:${spec.hostname}`,
    ...(spec.previous === null ? [] : ["-r", spec.previous]),
  ];
}

export function udhcpcClients(scriptPath: string, log: (msg: string) => void): DhcpClients {
  writeFileSync(scriptPath, SCRIPT);
  chmodSync(scriptPath, 0o755);
  const running = new Map<string, Daemonised>();
  return {
    start(spec, onEvent) {
      if (running.has(spec.key)) return;
      // udhcpc starts by deconfiguring the interface: nothing was lost before this client had a lease.
      let leased = false;
      const onLine = (line: string): void => {
        const event = parseEvent(line);
        if (event === undefined || (event.kind === "lost" && !leased)) return;
        leased = event.kind === "lease";
        void onEvent(event);
      };
      const client = startDaemonised(udhcpcArgv(spec, scriptPath), onLine, (why) => {
        if (running.get(spec.key) === client) running.delete(spec.key);
        log(`DHCP client for ${spec.key} ended: ${why}`);
      });
      running.set(spec.key, client);
    },
    stop(key) {
      running.get(key)?.stop();
      running.delete(key);
    },
    stopAll() {
      for (const key of [...running.keys()]) this.stop(key);
    },
  };
}
