/**
 * hostnetd's file descriptors: every published port on [::1] holds a relay socket in hostnetd's process, so
 * their number grows with the user's requests. A daemon that ran out could neither spawn ip nor nft nor
 * accept a request; so hostnetd refuses a relay that would leave it fewer than a reserve. Node raises its
 * soft RLIMIT_NOFILE to the hard one as it starts, so the hard limit (LimitNOFILE= of a systemd unit) is
 * what counts.
 */
import { readdirSync, readFileSync } from "node:fs";

/** What a converge's spawns (three pipes each, batches in parallel), the store and API clients may need. */
export const FD_RESERVE = 64;

interface FileLimit {
  readonly soft: number;
  readonly hard: number;
}

/** This process's RLIMIT_NOFILE; `Infinity` for "unlimited". */
export function fileLimit(): FileLimit {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft = "unlimited", hard = "unlimited"] =
    line?.slice("Max open files".length).trim().split(/\s+/) ?? [];
  const value = (s: string): number => (s === "unlimited" ? Infinity : Number(s));
  return { soft: value(soft), hard: value(hard) };
}

export const openFiles = (): number => readdirSync("/proc/self/fd").length;
