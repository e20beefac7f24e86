/**
 * The kernel's own monitors, run for as long as hostnetd runs in its namespace: `ip -o monitor all-nsid`
 * (links, addresses, routes, rules and neighbours, also those of every namespace with an id there, which a veth's
 * peer namespace gets), `nft -j monitor` and `tc monitor`. Each reports the removals it prints; one that
 * ends is started again, and the gap in what was seen is reported then, so a full check can cover it.
 */
import {
  parseIpMonitorLine,
  parseNftMonitorLine,
  parseTcMonitorLine,
  type Removal,
} from "../kernel-events.js";
import { startDaemonised, type Daemonised } from "./exec.js";

export interface MonitorEvents {
  readonly removal: (r: Removal) => void;
  /** A monitor ended and was started again: what happened meanwhile was not seen. */
  readonly gap: (why: string) => void;
}

const MONITORS: readonly { argv: readonly string[]; parse: (line: string) => Removal | undefined }[] = [
  {
    argv: ["ip", "-o", "monitor", "all-nsid", "link", "address", "route", "rule", "neigh"],
    parse: parseIpMonitorLine,
  },
  { argv: ["nft", "-j", "monitor"], parse: parseNftMonitorLine },
  { argv: ["tc", "monitor"], parse: parseTcMonitorLine },
];

/** The first restart waits a second, each next one twice as long up to a minute, until a line is read. */
const RESTART_MS = 1000;
const MAX_RESTART_MS = 60_000;

export function startMonitors(events: MonitorEvents): Daemonised {
  const running = MONITORS.map(({ argv, parse }) => {
    let child: Daemonised | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = RESTART_MS;
    const start = (): void => {
      // The monitors die with hostnetd, however it ends.
      child = startDaemonised(
        ["setpriv", "--pdeathsig", "KILL", ...argv],
        (line) => {
          delay = RESTART_MS;
          const removal = parse(line);
          if (removal !== undefined) events.removal(removal);
        },
        (why) => {
          timer = setTimeout(() => {
            start();
            events.gap(`${argv.join(" ")} ended (${why}) and was started again`);
          }, delay);
          delay = Math.min(delay * 2, MAX_RESTART_MS);
        },
      );
    };
    start();
    return {
      stop(): void {
        clearTimeout(timer);
        child?.stop();
      },
    };
  });
  return {
    stop(): void {
      for (const monitor of running) monitor.stop();
    },
  };
}
