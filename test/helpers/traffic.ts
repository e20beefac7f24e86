/**
 * Real traffic for tests: socat servers that answer each TCP connection or UDP datagram with the peer
 * address they saw (so tests can assert NAT), and clients that return that answer. Servers are stopped
 * by PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Address6 } from "ip-address";
import { inNs, run } from "./run.js";

export interface Server {
  stop(): Promise<void>;
}

const ANSWER = "SYSTEM:echo $SOCAT_PEERADDR";

/** TCP and UDP servers on `port` for both IPv4 and IPv6 in namespace `ns`. */
export async function startEchoServers(ns: string, port: number): Promise<Server> {
  const specs = [
    `TCP4-LISTEN:${port},fork,reuseaddr`,
    `TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=1`,
    `UDP4-RECVFROM:${port},fork,reuseaddr`,
    `UDP6-RECVFROM:${port},fork,reuseaddr,ipv6only=1`,
  ];
  const children: ChildProcess[] = specs.map((spec) =>
    spawn("nsenter", [`--net=/run/netns/${ns}`, "socat", spec, ANSWER], { stdio: "ignore" }),
  );
  await new Promise((r) => setTimeout(r, 300));
  return { stop: () => stopAll(children) };
}

/** socat prints IPv6 peers in full, bracketed form; tests compare canonical text. */
function canonical(answer: string): string | undefined {
  const text = answer.trim().replace(/^\[(.*)\]$/, "$1");
  if (text === "") return undefined;
  return text.includes(":") ? new Address6(text).correctForm() : text;
}

/** A TCP server in `ns` that echoes back what each connection sends. */
export async function startCatServer(ns: string, port: number): Promise<Server> {
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${ns}`, "socat", `TCP4-LISTEN:${port},fork,reuseaddr`, "EXEC:cat"],
    {
      stdio: "ignore",
    },
  );
  await new Promise((r) => setTimeout(r, 200));
  return { stop: () => stopAll([child]) };
}

/** A TCP server bound to one address of `ns`, answering with the peer address it saw. */
export async function startHostServer(ns: string, address: string, port: number): Promise<Server> {
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${ns}`, "socat", `TCP4-LISTEN:${port},bind=${address},fork,reuseaddr`, ANSWER],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 200));
  return { stop: () => stopAll([child]) };
}

/**
 * A UDP server bound to one address of `ns`, answering with the peer address it saw. It answers from that
 * address, as servers that reply from the address asked (IP_PKTINFO) do; a wildcard one answers from the
 * address its route to the client gives.
 */
export async function startBoundUdpServer(ns: string, address: string, port: number): Promise<Server> {
  const proto = address.includes(":") ? "UDP6" : "UDP4";
  const bind = address.includes(":") ? `[${address}]` : address;
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${ns}`, "socat", `${proto}-RECVFROM:${port},bind=${bind},fork,reuseaddr`, ANSWER],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 200));
  return { stop: () => stopAll([child]) };
}

/** A TCP server in `ns` that answers every connection with `name`, to tell load-balanced backends apart. */
export async function startNameServer(ns: string, port: number, name: string): Promise<Server> {
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${ns}`, "socat", `TCP4-LISTEN:${port},fork,reuseaddr`, `SYSTEM:echo ${name}`],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 200));
  return { stop: () => stopAll([child]) };
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await exited;
    }),
  );
}

const hostPort = (address: string, port: number): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

/** Connects from `ns` and returns the peer address the server saw, or undefined when nothing answered. */
export async function askTcp(ns: string, address: string, port: number): Promise<string | undefined> {
  const proto = address.includes(":") ? "TCP6" : "TCP4";
  const r = await run(
    inNs(ns, ["socat", "-T", "2", "-", `${proto}:${hostPort(address, port)},connect-timeout=2`]),
    {
      timeoutMs: 5_000,
    },
  );
  return r.code === 0 ? canonical(r.stdout) : undefined;
}

export async function askUdp(ns: string, address: string, port: number): Promise<string | undefined> {
  const proto = address.includes(":") ? "UDP6" : "UDP4";
  const r = await run(inNs(ns, ["socat", "-T", "1", "-", `${proto}:${hostPort(address, port)}`]), {
    input: "hello\n",
    timeoutMs: 5_000,
  });
  return canonical(r.stdout);
}

/**
 * Goodput in bytes per second of a TCP stream from `clientNs` to an iperf3 server on `address` in
 * `serverNs`, or the other way round with `reverse` (the server sends).
 */
export async function measureThroughput(
  serverNs: string,
  clientNs: string,
  address: string,
  opts: { reverse?: boolean; seconds?: number } = {},
): Promise<number> {
  const server = spawn("nsenter", [`--net=/run/netns/${serverNs}`, "iperf3", "-s", "-1", "-p", "5201"], {
    stdio: "ignore",
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const args = ["iperf3", "-c", address, "-p", "5201", "-J", "-t", String(opts.seconds ?? 3), "-O", "1"];
    const r = await run(inNs(clientNs, [...args, ...(opts.reverse === true ? ["-R"] : [])]), {
      timeoutMs: 20_000,
    });
    const json = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return json.end.sum_received.bits_per_second / 8;
  } finally {
    await stopAll([server]);
  }
}

/** The answers of `count` TCP connections from `ns` to `ip`:`port`, one socat each, in one shell. */
export async function askTcpMany(ns: string, ip: string, port: number, count: number): Promise<string[]> {
  const script = `i=0; while [ $i -lt ${count} ]; do socat -T 2 - TCP4:${ip}:${port},connect-timeout=2 </dev/null; i=$((i+1)); done`;
  const r = await run(inNs(ns, ["sh", "-c", script]), { timeoutMs: 120_000 });
  return r.stdout.split("\n").filter((l) => l !== "");
}
