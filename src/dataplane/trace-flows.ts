/**
 * The flows `hostnet trace` follows now, as the elements of the bridge table's trace sets that mark their
 * packets for nftables tracing. They live in hostnetd's memory only: the reconciler wants them while their
 * trace runs, and a hostnetd that starts wants none, so the startup converge removes what a hostnetd that
 * died mid-trace left.
 */
import { conflict } from "../errors.js";
import type { ElementPart } from "./nft-sets.js";
import type { KernelObject } from "./objects.js";

/** What a probe is, in IP terms. */
export type TraceProtocol = "tcp" | "udp" | "icmp";

/** One flow from an endpoint: what leaves its host veth for `destination` (and `port`, for TCP and UDP). */
export interface TraceFlow {
  /** The trace's id, the label of its element. */
  readonly id: string;
  readonly veth: string;
  readonly family: 4 | 6;
  readonly protocol: TraceProtocol;
  readonly destination: string;
  readonly port?: number;
}

/**
 * The protocol as observation reads it back (`nft -p`: TCP and UDP by name, others by number), so that a
 * running trace's element is never seen as drifted.
 */
function protocolPart(flow: TraceFlow): string {
  if (flow.protocol !== "icmp") return flow.protocol;
  return flow.family === 4 ? "1" : "58";
}

/** The element that marks a flow's packets. ICMP has no ports: any value of the bytes where they would be. */
export function traceElement(flow: TraceFlow): Extract<KernelObject, { kind: "nftElement" }> {
  const key: ElementPart[] = [
    { t: "ifname", v: flow.veth },
    { t: "proto", v: protocolPart(flow) },
    { t: "addr", v: flow.destination },
    { t: "portRange", v: flow.port === undefined ? "0-65535" : String(flow.port) },
  ];
  return {
    kind: "nftElement",
    owner: "trace",
    set: flow.family === 4 ? "trace4" : "trace6",
    key,
    value: null,
    label: flow.id,
  };
}

export class TraceFlows {
  private readonly running = new Map<string, TraceFlow>();

  /** Starts following a flow; one that another trace follows now is refused, as both would read its events. */
  add(flow: TraceFlow): void {
    const key = JSON.stringify(traceElement(flow).key);
    if ([...this.running.values()].some((f) => JSON.stringify(traceElement(f).key) === key))
      throw conflict(`another trace follows this flow now`);
    this.running.set(flow.id, flow);
  }

  remove(id: string): void {
    this.running.delete(id);
  }

  /** The elements of the flows followed now: what the reconciler wants for the owner `trace`. */
  objects(): KernelObject[] {
    return [...this.running.values()].map(traceElement);
  }
}
