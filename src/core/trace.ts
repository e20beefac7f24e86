/**
 * `hostnet trace`: why a packet from an endpoint went where it went, or was dropped. The dataplane traces one
 * probe, or watches for the next packet the endpoint sends of the flow (dataplane/trace.ts); this module
 * checks the request and tells the packet's path in the store's words: which endpoint's port mapping or which load balancer translated it, which ACL rule of which endpoint
 * (priority, action) let it through or blocked it, which network's isolation or closed policy dropped it,
 * anti-spoofing, and where it left.
 */
import type { TraceCapture, TraceProbe, TraceWatch } from "../dataplane/trace.js";
import type { TraceHop } from "../dataplane/trace-events.js";
import type { TraceProtocol } from "../dataplane/trace-flows.js";
import { conflict, invalidArgument } from "../errors.js";
import { familyOfAddress, parseIp } from "../model/ip.js";
import type { Endpoint, LoadBalancer, Network } from "../model/types.js";
import type { AclPolicy } from "../policies/acl.js";
import { getEndpoint, type Core } from "./context.js";
import { endpointHostInterface, networkBridge } from "./kernel-names.js";

export interface TraceSpec {
  /** The endpoint the probe leaves from: its id or name. */
  readonly endpoint: string;
  readonly destination: string;
  readonly protocol: TraceProtocol;
  /** The destination port: TCP and UDP only. */
  readonly port?: number;
  /**
   * The address the probe is sent from: the endpoint's own of the destination's family unless given; another
   * address the namespace has shows what anti-spoofing does with a forged source.
   */
  readonly source?: string;
  /** Send no probe: wait for the next packet of the flow the endpoint sends itself. */
  readonly watch?: boolean;
  /** How long a watch waits for its packet, in seconds: WATCH_SECONDS unless given. */
  readonly timeoutSeconds?: number;
}

/** How long a watch waits for its packet unless asked otherwise, and at most. */
export const WATCH_SECONDS = { default: 30, max: 3600 } as const;

/** One step of the path, said for people, with what kind of step it is. */
interface TraceStep {
  readonly kind: TraceHop["kind"];
  readonly description: string;
}

export interface TraceReport {
  readonly endpoint: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: TraceProtocol;
  readonly port?: number;
  readonly dropped: boolean;
  readonly steps: readonly TraceStep[];
  /** What the probe saw: `connected`, `refused`, `no answer`, `answered`, `sent`; a watch sends none. */
  readonly probe?: string;
  /** A watch's: whether a packet of the flow came within `timeoutSeconds`. */
  readonly watched?: { readonly seen: boolean; readonly timeoutSeconds: number };
  /** The nftables trace events of the packet, as `nft monitor` printed them. */
  readonly events: readonly string[];
}

/**
 * What the trace needs of hostnetd's namespace: one traced probe or watch; `signal` ends a watch early (its
 * caller left).
 */
export type TraceRunner = (trace: TraceProbe | TraceWatch, signal?: AbortSignal) => Promise<TraceCapture>;

/** A watch's time in milliseconds, checked; undefined for a probe. */
function watchMs(spec: TraceSpec): number | undefined {
  if (spec.watch !== true) {
    if (spec.timeoutSeconds !== undefined) throw invalidArgument("timeout", "is for a watch, which waits");
    return undefined;
  }
  if (spec.source !== undefined)
    throw invalidArgument("source", "is for a probe: a watch follows what the endpoint sends itself");
  const seconds = spec.timeoutSeconds ?? WATCH_SECONDS.default;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > WATCH_SECONDS.max)
    throw invalidArgument(
      "timeout",
      `must be a whole number of seconds from 1 to ${String(WATCH_SECONDS.max)}`,
    );
  return seconds * 1000;
}

/**
 * The request checked against the endpoint: a flow it can send, from its address of the destination's
 * family; a probe is sent from its namespace, a watch needs only its host veth.
 */
function traceOf(core: Core, spec: TraceSpec): { ep: Endpoint; trace: TraceProbe | TraceWatch } {
  const destination = parseIp("destination", spec.destination).address;
  if (spec.protocol === "icmp" && spec.port !== undefined)
    throw invalidArgument("port", "is for tcp and udp; icmp has no ports");
  if (spec.protocol !== "icmp" && spec.port === undefined)
    throw invalidArgument("port", `is required for ${spec.protocol}`);
  if (spec.port !== undefined && (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535))
    throw invalidArgument("port", "must be an integer from 1 to 65535");
  const timeoutMs = watchMs(spec);
  const ep = getEndpoint(core, spec.endpoint);
  if (ep.remoteHost !== null) throw conflict(`endpoint "${ep.name}" is on another host: trace it there`);
  const ns =
    ep.attachment?.kind === "namespace" ? core.store.namespaces.find(ep.attachment.namespaceId) : undefined;
  if (timeoutMs !== undefined && ep.attachment === null)
    throw conflict(`endpoint "${ep.name}" is not attached: it sends nothing to watch`);
  if (timeoutMs === undefined && ns === undefined)
    throw conflict(
      `endpoint "${ep.name}" is not attached to a namespace of hostnet's: there is nothing to send from`,
    );
  const family = familyOfAddress(destination);
  const source =
    spec.source === undefined
      ? ep.addresses.find((a) => familyOfAddress(a.address) === family)?.address
      : parseIp("source", spec.source).address;
  if (source !== undefined && familyOfAddress(source) !== family)
    throw invalidArgument("source", `is not an IPv${String(family)} address, as the destination is`);
  if (source === undefined)
    throw invalidArgument(
      "destination",
      `endpoint "${ep.name}" has no IPv${String(family)} address to send from`,
    );
  const flow = {
    veth: endpointHostInterface(ep),
    family,
    protocol: spec.protocol,
    destination,
    ...(spec.port === undefined ? {} : { port: spec.port }),
  };
  return {
    ep,
    trace:
      timeoutMs !== undefined
        ? { mode: "watch", ...flow, timeoutMs }
        : { mode: "probe", netns: ns?.path ?? "", source, ...flow },
  };
}

/** Names of what the kernel's names and the element comments stand for, from the store as it is now. */
interface Names {
  endpoint(owner: string | undefined): Endpoint | undefined;
  loadBalancer(owner: string | undefined): LoadBalancer | undefined;
  /** An interface: a network's bridge, an endpoint's host veth, or one that is not hostnet's. */
  interface(name: string): string;
  network(id: string): Network | undefined;
  /** The network whose bridge an interface is. */
  bridgeOf(name: string): Network | undefined;
}

function namesOf(core: Core): Names {
  const networks = core.store.networks.all();
  const endpoints = core.store.endpoints.all();
  return {
    endpoint: (owner) =>
      owner?.startsWith("ep:") === true ? core.store.endpoints.find(owner.slice(3)) : undefined,
    loadBalancer: (owner) =>
      owner?.startsWith("lb:") === true ? core.store.loadBalancers.find(owner.slice(3)) : undefined,
    network: (id) => core.store.networks.find(id),
    bridgeOf: (name) => networks.find((n) => networkBridge(n) === name),
    interface(name) {
      const net = networks.find((n) => networkBridge(n) === name);
      if (net !== undefined) return `the bridge of network "${net.name}" (${name})`;
      const ep = endpoints.find((e) => endpointHostInterface(e) === name);
      if (ep !== undefined) return `endpoint "${ep.name}" (${name})`;
      return `${name}, to the outside`;
    },
  };
}

/** The ACL an element's label names (`acl 2`, `network acl 0`): its place in the endpoint's or network's list. */
function aclOf(names: Names, ep: Endpoint, label: string): { acl: AclPolicy; whose: string } | undefined {
  const m = /^(network )?acl (\d+)$/.exec(label);
  if (m === null) return undefined;
  const index = Number(m[2]);
  const net = m[1] === undefined ? undefined : names.network(ep.networkId);
  const policy = (net === undefined ? ep.policies : net.policies)[index];
  if (policy?.type !== "ACL") return undefined;
  return {
    acl: policy,
    whose: net === undefined ? `endpoint "${ep.name}"` : `network "${net.name}" (on endpoint "${ep.name}")`,
  };
}

function describeHop(
  hop: TraceHop,
  names: Names,
  core: Core,
  { port, protocol }: Pick<TraceProbe, "port" | "protocol">,
): string {
  switch (hop.kind) {
    case "antispoof":
      return `dropped by anti-spoofing: its ${hop.check} is not one of the sending endpoint's`;
    case "loopbackGuard":
      return "dropped: a loopback address reached from outside the host";
    case "portMapping": {
      const ep = names.endpoint(hop.owner);
      const m = ep?.portMappings.find((pm) => pm.hostPort === port && pm.protocol.toLowerCase() === protocol);
      const mapping = m === undefined ? "" : `${String(m.hostPort)}->${String(m.internalPort)}/${protocol} `;
      return ep === undefined
        ? "translated by a port mapping"
        : `translated by the port mapping ${mapping}of endpoint "${ep.name}"`;
    }
    case "loadBalancer": {
      const lb = names.loadBalancer(hop.owner);
      return lb === undefined
        ? "translated by a load balancer"
        : `translated by load balancer "${lb.name}" (${lb.id}, VIPs ${lb.vips.join(", ") || "none: NodePort"})`;
    }
    case "noBackend": {
      const lb = names.loadBalancer(hop.owner);
      return `refused: ${lb === undefined ? "the load balancer" : `load balancer "${lb.name}"`} has no backend of this address family`;
    }
    case "translated":
      return `to ${hop.to}`;
    case "acl": {
      const ep = names.endpoint(hop.owner);
      const found = ep === undefined || hop.label === undefined ? undefined : aclOf(names, ep, hop.label);
      const what =
        found === undefined
          ? `an ACL rule (${hop.direction})`
          : `the ACL rule of ${found.whose}: ${found.acl.direction}, priority ${String(found.acl.priority)}, ${found.acl.action}`;
      return `${hop.verdict === "Allow" ? "allowed" : "blocked"} by ${what}`;
    }
    case "aclDefault": {
      const ep = core.store.endpoints.all().find((e) => e.addresses.some((a) => a.address === hop.address));
      return `blocked: no ACL rule of ${ep === undefined ? hop.address : `endpoint "${ep.name}"`} (${hop.direction}) matched, and what none allows is blocked`;
    }
    case "isolation": {
      const net = names.bridgeOf(hop.into);
      return `dropped by network isolation: ${net === undefined ? "a NAT network" : `NAT network "${net.name}"`} is reached from other networks only through its port mappings and load balancers`;
    }
    case "closed": {
      const net = [hop.iif, hop.oif]
        .map((i) => names.bridgeOf(i))
        .find((n) => n?.type === "Private" || n?.type === "Internal");
      return `dropped by the closed policy of ${net === undefined ? "a Private or Internal network" : `${net.type} network "${net.name}"`}: nothing is routed into or out of it`;
    }
    case "masquerade":
      return `masqueraded behind the host's address${hop.to === undefined ? "" : ` ${hop.to}`} on ${names.interface(hop.oif)}`;
    case "snat": {
      const ep = names.endpoint(hop.owner);
      const lb = names.loadBalancer(hop.owner);
      const by =
        ep !== undefined
          ? ` by the OutBoundNAT policy of endpoint "${ep.name}"`
          : lb === undefined
            ? ""
            : ` by the SourceVIP of load balancer "${lb.name}"`;
      return `source address translated${hop.to === undefined ? "" : ` to ${hop.to}`}${by} on ${names.interface(hop.oif)}`;
    }
    case "left":
      return `left through ${names.interface(hop.oif)}`;
    case "bridged":
      return `bridged to ${names.interface(hop.oif)}`;
    case "delivered":
      return "delivered to the host itself";
  }
}

/**
 * Sends a probe from the endpoint, or watches for the next packet of the flow it sends (until `signal` says
 * the caller left), with tracing on for its flow alone, and tells its path.
 */
export async function traceEndpoint(
  core: Core,
  run: TraceRunner,
  spec: TraceSpec,
  signal?: AbortSignal,
): Promise<TraceReport> {
  const { ep, trace } = traceOf(core, spec);
  const capture = await run(trace, signal);
  const names = namesOf(core);
  const own = ep.addresses.find((a) => familyOfAddress(a.address) === trace.family)?.address ?? "";
  return {
    endpoint: ep.name,
    source: capture.source ?? (trace.mode === "probe" ? trace.source : own),
    destination: trace.destination,
    protocol: trace.protocol,
    ...(trace.port === undefined ? {} : { port: trace.port }),
    dropped: capture.path.dropped,
    steps: capture.path.hops.map((hop) => ({
      kind: hop.kind,
      description: describeHop(hop, names, core, trace),
    })),
    ...(capture.probe === undefined ? {} : { probe: capture.probe }),
    ...(trace.mode === "watch"
      ? { watched: { seen: capture.lines.length > 0, timeoutSeconds: trace.timeoutMs / 1000 } }
      : {}),
    events: capture.lines,
  };
}
