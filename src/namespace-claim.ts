/**
 * One hostnetd per network namespace: two would each take the other's kernel objects for orphans of a lost
 * record and delete them at their start-up converge. The claim is a unix socket of the abstract namespace,
 * which the kernel keeps per network namespace and frees when its process dies (kill -9 too), so no file
 * can go stale. hostnetd takes it before it opens its store or touches the kernel; one that finds it taken
 * asks the holder who it is, to say so in its refusal.
 */
import { readlinkSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { HostnetError } from "./errors.js";

const CLAIM = "\0hostnet/hostnetd";

/** What a hostnetd that holds the claim tells one that is refused. */
interface ClaimHolder {
  readonly pid: number;
  readonly socket: string;
  readonly stateDir: string;
}

/** The claim, held until it is released or the process ends. */
export async function claimNamespace(self: Omit<ClaimHolder, "pid">): Promise<Server> {
  const holder = JSON.stringify({ pid: process.pid, ...self } satisfies ClaimHolder);
  const server = createServer((conn) => {
    // A peer that goes away early is no concern of this daemon's.
    conn.on("error", () => undefined);
    conn.end(holder);
  });
  const taken = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve(true);
      else reject(err);
    });
    server.listen({ path: CLAIM }, () => resolve(false));
  });
  if (!taken) return server;
  const other = await askHolder();
  throw new HostnetError(
    "Conflict",
    `another hostnetd (${other}) runs in this network namespace (${readlinkSync("/proc/self/ns/net")}): one hostnetd per network namespace`,
  );
}

/** The holder's pid, socket and state directory in words, or that it did not say (it did not answer in time). */
function askHolder(): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const conn = connect({ path: CLAIM });
    conn.setTimeout(2000, () => conn.destroy());
    conn.on("data", (b: Buffer) => (text += b.toString()));
    conn.on("error", () => undefined);
    conn.on("close", () => {
      try {
        const h = JSON.parse(text) as ClaimHolder;
        resolve(`pid ${String(h.pid)}, socket ${h.socket}, state directory ${h.stateDir}`);
      } catch {
        resolve("which did not say who it is");
      }
    });
  });
}
