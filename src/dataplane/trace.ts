/**
 * One trace: hostnet marks one flow of an endpoint's for nftables tracing (trace-flows.ts, through the
 * reconciler, so the mark goes when the trace ends or hostnetd restarts), reads the kernel's trace events
 * with `nft monitor`, sends one probe from the endpoint's namespace and address or waits for the next packet
 * the endpoint sends of the flow itself, and reads the first packet's events in hostnet's terms
 * (trace-events.ts).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { KernelCommandError, startDaemonised, type Runner } from "./linux/exec.js";
import { NFT_TABLE } from "./naming.js";
import type { Reconciler } from "./reconciler.js";
import {
  conntrackFilter,
  elementQuery,
  firstPacket,
  parseTraceLine,
  replyDestination,
  startsPacket,
  tracePath,
  type ElementQuery,
  type FoundElement,
  type TraceEvent,
  type TracePath,
} from "./trace-events.js";
import type { TraceFlow } from "./trace-flows.js";

/** A trace that sends its own probe: the flow, and the endpoint's namespace and address to send from. */
export interface TraceProbe extends Omit<TraceFlow, "id"> {
  readonly mode: "probe";
  /** The path of the endpoint's namespace. */
  readonly netns: string;
  readonly source: string;
}

/** A trace that sends nothing: it waits, `timeoutMs` at most, for the next packet the endpoint sends of the flow. */
export interface TraceWatch extends Omit<TraceFlow, "id"> {
  readonly mode: "watch";
  readonly timeoutMs: number;
}

export interface TraceCapture {
  /** The first packet's trace events as nft printed them; none when no packet of the flow came. */
  readonly lines: readonly string[];
  readonly path: TracePath;
  /** The first packet's source address, as the bridge saw it. */
  readonly source?: string;
  /** What the probe saw: `connected`, `refused`, `no answer`, `answered`, `sent`; a watch has none. */
  readonly probe?: string;
}

/** How long the monitor may take to show that the flow's mark is in place before the probe goes anyway. */
const MARK_SEEN_MS = 2000;
/** How long a TCP probe waits for its connection, and a ping for its answer. */
const PROBE_SECONDS = 2;
/** The events of the probe's packet are printed soon after it passed; what comes later is not waited for. */
const SETTLE_MS = 300;

const TCP_PROBE = `const [src, dst, port] = process.argv.slice(1);
const s = require("node:net").connect({ host: dst, port: Number(port), localAddress: src });
s.setTimeout(${String(PROBE_SECONDS * 1000)});
s.on("connect", () => { console.log("connected"); s.destroy(); });
s.on("timeout", () => { console.log("no answer"); s.destroy(); });
s.on("error", (e) => console.log(e.code === "ECONNREFUSED" ? "refused" : e.code === "ECONNRESET" ? "reset" : String(e.code)));`;

const UDP_PROBE = `const [src, dst, port] = process.argv.slice(1);
const d = require("node:dgram").createSocket(dst.includes(":") ? "udp6" : "udp4");
d.bind(0, src, () => d.send("hostnet trace", Number(port), dst, (e) => { console.log(e ? String(e.code) : "sent"); d.close(); }));`;

/** The probe's command, run in the endpoint's namespace: Node itself for TCP and UDP, ping for ICMP. */
function probeArgv(p: TraceProbe): string[] {
  const inNs = ["nsenter", `--net=${p.netns}`];
  if (p.protocol === "icmp")
    return [...inNs, "ping", "-c", "1", "-W", String(PROBE_SECONDS), "-I", p.source, p.destination];
  const script = p.protocol === "tcp" ? TCP_PROBE : UDP_PROBE;
  return [...inNs, process.execPath, "-e", script, p.source, p.destination, String(p.port ?? 0)];
}

async function sendProbe(runner: Runner, p: TraceProbe): Promise<string> {
  try {
    const { stdout } = await runner.run(probeArgv(p));
    return p.protocol === "icmp" ? "answered" : stdout.trim();
  } catch (err) {
    // ping exits 1 when no answer came, 2 when it could not send (a source the namespace lacks).
    if (!(err instanceof KernelCommandError))
      return `not sent: ${err instanceof Error ? err.message : String(err)}`;
    return err.exitCode !== 1 && err.stderr.trim() !== "" ? err.stderr.trim() : "no answer";
  }
}

const queryKey = (q: ElementQuery): string => `${q.family} ${q.set} ${q.key}`;

/** `elements = { KEY comment "COMMENT" : VALUE }`: nft 1.0 answers `get element` as text whatever -j says. */
const ELEMENT_ANSWER = /comment "([^"]*)"(?: : (.*?))? \}/;

/** The elements the events' rules found, asked of the kernel by their keys. */
async function elementsFound(
  runner: Runner,
  events: readonly TraceEvent[],
): Promise<Map<string, FoundElement>> {
  const queries = new Map<string, ElementQuery>();
  let packet = events[0]?.packet;
  for (const e of events) {
    if (e.packet !== undefined) packet = e.packet;
    const q = elementQuery(e, packet);
    if (q !== undefined) queries.set(queryKey(q), q);
  }
  const found = new Map<string, FoundElement>();
  for (const [key, q] of queries) {
    try {
      const { stdout } = await runner.run([
        "nft",
        "get",
        "element",
        q.family,
        NFT_TABLE,
        q.set,
        `{ ${q.key} }`,
      ]);
      const m = ELEMENT_ANSWER.exec(stdout);
      if (m?.[1] !== undefined)
        found.set(key, m[2] === undefined ? { comment: m[1] } : { comment: m[1], value: m[2] });
    } catch {
      // No element for the key (a map that was changed since): the step is shown without its owner.
    }
  }
  return found;
}

/**
 * The path with the address a masquerade translated the source to, which the packet's connection's reply
 * tuple holds: masquerade picks it as the packet leaves, after the last hook that shows the packet.
 */
async function withMasqueradeAddress(
  runner: Runner,
  path: TracePath,
  first: TraceEvent | undefined,
): Promise<TracePath> {
  const filter = first?.packet === undefined ? undefined : conntrackFilter(first.packet);
  if (filter === undefined || !path.hops.some((h) => h.kind === "masquerade")) return path;
  let to: string | undefined;
  try {
    const { stdout } = await runner.run(["conntrack", "-L", ...filter]);
    to = replyDestination(stdout.split("\n")[0] ?? "");
  } catch {
    // The connection is gone already: the step is shown without the address.
  }
  if (to === undefined) return path;
  return { ...path, hops: path.hops.map((h) => (h.kind === "masquerade" ? { ...h, to } : h)) };
}

/** Waits `ms`, or less if `signal` ends the wait first. */
async function waitAtMost(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Ended early, by what the signal's owner says.
  }
}

/** The source address of a packet as its first event shows it. */
const sourceOf = (e: TraceEvent | undefined): string | undefined =>
  e?.packet?.get("ip saddr") ?? e?.packet?.get("ip6 saddr");

/**
 * Traces one probe, or the next packet of the flow the endpoint sends (until the watch's time is up or
 * `signal` says its caller left); the flow is marked only while the trace runs.
 */
export async function traceFlow(
  reconciler: Reconciler,
  runner: Runner,
  trace: TraceProbe | TraceWatch,
  signal?: AbortSignal,
): Promise<TraceCapture> {
  const id = randomUUID().slice(0, 8);
  const lines: string[] = [];
  // Set by the monitor's callback: an object, which the loop below reads afresh each time.
  const mark = { seen: false };
  const { veth, family, protocol, destination, port } = trace;
  // A watch ends once its packet has come, or the monitor it reads is gone.
  const ended = new AbortController();
  let monitorGone: string | undefined;
  // First, so that a flow another trace follows is refused before anything runs.
  reconciler.traces.add({ id, veth, family, protocol, destination, ...(port === undefined ? {} : { port }) });
  const monitor = startDaemonised(
    ["setpriv", "--pdeathsig", "KILL", "nft", "monitor"],
    (line) => {
      if (line.startsWith("trace id ")) {
        lines.push(line);
        const e = parseTraceLine(line);
        if (e !== undefined && startsPacket(e, veth, destination)) ended.abort();
      } else if (line.startsWith(`add element bridge ${NFT_TABLE} trace`)) mark.seen = true;
    },
    (why) => {
      monitorGone = why;
      ended.abort();
    },
  );
  try {
    await reconciler.converge(["trace"]);
    for (let waited = 0; !mark.seen && waited < MARK_SEEN_MS; waited += 20) await sleep(20);
    const probe = trace.mode === "probe" ? await sendProbe(runner, trace) : undefined;
    if (trace.mode === "watch")
      await waitAtMost(
        trace.timeoutMs,
        signal === undefined ? ended.signal : AbortSignal.any([ended.signal, signal]),
      );
    if (monitorGone !== undefined)
      throw new Error(`nft monitor, which reads the trace, ended: ${monitorGone}`);
    await sleep(SETTLE_MS);
    monitor.stop();
    const parsed = lines.flatMap((line) => {
      const e = parseTraceLine(line);
      return e === undefined ? [] : [{ line, e }];
    });
    const first = new Set(
      firstPacket(
        parsed.map((p) => p.e),
        veth,
        destination,
      ),
    );
    const events = parsed.filter((p) => first.has(p.e));
    const elements = await elementsFound(
      runner,
      events.map((p) => p.e),
    );
    const source = sourceOf(events[0]?.e);
    const path = tracePath(
      events.map((p) => p.e),
      (q) => elements.get(queryKey(q)),
    );
    return {
      lines: events.map((p) => p.line),
      path: await withMasqueradeAddress(runner, path, events[0]?.e),
      ...(source === undefined ? {} : { source }),
      ...(probe === undefined ? {} : { probe }),
    };
  } finally {
    monitor.stop();
    reconciler.traces.remove(id);
    await reconciler.converge(["trace"]);
  }
}
