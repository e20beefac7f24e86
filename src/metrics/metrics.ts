/**
 * hostnetd's Prometheus metrics (prom-client), in a registry of its own. The parts of the daemon record
 * what happens through the methods here; what is counted elsewhere (objects in the store, the kernel's
 * traffic counters, etcd's state) is read when scraped, from the sources given.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CommandRecorder } from "../dataplane/linux/exec.js";
import type { ConvergeObserver } from "../dataplane/reconciler.js";
import type { ObjectCount } from "../store/census.js";

/** An endpoint's traffic as the endpoint sees it: `received` is what reached the container. */
export interface EndpointTraffic {
  readonly endpoint: string;
  readonly network: string;
  readonly receivedBytes: number;
  readonly receivedPackets: number;
  readonly sentBytes: number;
  readonly sentPackets: number;
  /** Packets dropped on their way in or out, by why. */
  readonly dropped: readonly {
    readonly direction: "in" | "out";
    readonly reason: DropReason;
    readonly packets: number;
  }[];
}

/** `interface`: the veth dropped it (queue full, the peer down); `acl`: an ACL rule blocked it. */
type DropReason = "interface" | "acl";

/** One ACL rule of an endpoint and the packets it matched. */
export interface AclRuleHits {
  readonly endpoint: string;
  readonly network: string;
  /** The rule's place among the endpoint's policies, as `hostnet acl list` numbers them. */
  readonly rule: number;
  readonly action: "Allow" | "Block";
  readonly direction: "In" | "Out";
  readonly packets: number;
}

/** One backend of a load balancer and the new connections the load balancer sent it. */
export interface LbBackendConnections {
  /** The load balancer's id, and its name. */
  readonly loadBalancer: string;
  readonly name: string;
  /** The backend endpoint's name. */
  readonly backend: string;
  readonly connections: number;
}

/** What the kernel counted for hostnet's endpoints, read together: ACL drops are part of the traffic. */
export interface KernelCounters {
  readonly traffic: readonly EndpointTraffic[];
  readonly aclHits: readonly AclRuleHits[];
  readonly lbConnections: readonly LbBackendConnections[];
}

export interface MetricsSources {
  objects(): readonly ObjectCount[];
  kernelCounters(): Promise<KernelCounters>;
  /** Whether etcd answers; absent without a cluster. */
  etcdConnected?: () => boolean;
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class HostnetMetrics {
  private readonly registry = new Registry();
  /**
   * The kernel's counters as this scrape read them: prom-client collects all metrics at once, and seven of
   * them share one read.
   */
  private counters: Promise<KernelCounters> | undefined;

  private readonly converges = new Counter({
    name: "hostnet_converges_total",
    help: "Converges of the kernel to the store (converge) and repairs of drift (repair), by result",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });
  private readonly convergeSeconds = new Histogram({
    name: "hostnet_converge_duration_seconds",
    help: "How long a converge or repair took, planning and applying",
    labelNames: ["kind"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly kernelOperations = new Counter({
    name: "hostnet_kernel_operations_total",
    help: "Kernel objects created, replaced or deleted by converges and repairs, by action and object kind",
    labelNames: ["action", "object"] as const,
    registers: [this.registry],
  });
  private readonly driftRepaired = new Counter({
    name: "hostnet_drift_repaired_total",
    help: "Kernel objects changed behind hostnet's back and repaired, by object kind",
    labelNames: ["object"] as const,
    registers: [this.registry],
  });
  private readonly commands = new Counter({
    name: "hostnet_kernel_commands_total",
    help: "Runs of the kernel's tools (ip, nft, tc, ...), by tool and result",
    labelNames: ["tool", "result"] as const,
    registers: [this.registry],
  });
  private readonly commandSeconds = new Histogram({
    name: "hostnet_kernel_command_duration_seconds",
    help: "How long a run of a kernel tool took",
    labelNames: ["tool"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: "hostnet_api_requests_total",
    help: "REST API requests, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: "hostnet_api_request_duration_seconds",
    help: "How long the REST API took to answer, by route and method",
    labelNames: ["route", "method"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly cniCalls = new Counter({
    name: "hostnet_cni_calls_total",
    help: "CNI plugin calls, by command and result",
    labelNames: ["command", "result"] as const,
    registers: [this.registry],
  });
  private readonly dockerCalls = new Counter({
    name: "hostnet_docker_calls_total",
    help: "Docker plugin calls, by call and result",
    labelNames: ["call", "result"] as const,
    registers: [this.registry],
  });
  private readonly etcdWatchRestarts = new Counter({
    name: "hostnet_etcd_watch_restarts_total",
    help: "Times the watches of etcd reconnected after losing it",
    registers: [this.registry],
  });
  private readonly etcdClaims = new Counter({
    name: "hostnet_etcd_claims_total",
    help: "Claims of overlay addresses in etcd, by result (claimed, taken by another host, failed)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "hostnetd_" });
  }

  /** Adds the metrics read when scraped; once, when the daemon's parts that hold them exist. */
  readFrom(sources: MetricsSources): void {
    new Gauge({
      name: "hostnet_objects",
      help: "Objects in hostnet's store, by kind and state",
      labelNames: ["kind", "state"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const o of sources.objects()) this.set({ kind: o.kind, state: o.state }, o.count);
      },
    });
    if (sources.etcdConnected !== undefined) {
      const connected = sources.etcdConnected;
      new Gauge({
        name: "hostnet_etcd_connected",
        help: "1 while etcd answers hostnetd, 0 while it does not",
        registers: [this.registry],
        collect() {
          this.set(connected() ? 1 : 0);
        },
      });
    }
    const counters = (): Promise<KernelCounters> => (this.counters ??= sources.kernelCounters());
    this.registerTraffic(counters);
    this.registerAclHits(counters);
    this.registerLbConnections(counters);
  }

  /** One converge (`converge`) or repair of drift (`repair`), with what it did: the reconciler's observer. */
  readonly converged: ConvergeObserver = (kind, seconds, ops, failed) => {
    this.converges.inc({ kind, result: failed ? "failed" : "ok" });
    this.convergeSeconds.observe({ kind }, seconds);
    for (const op of ops) {
      this.kernelOperations.inc({ action: op.action, object: op.object.kind });
      if (kind === "repair") this.driftRepaired.inc({ object: op.object.kind });
    }
  };

  /** One run of a kernel tool: what measuredRunner records. */
  readonly command: CommandRecorder = (tool, seconds, ok) => {
    this.commands.inc({ tool, result: ok ? "ok" : "failed" });
    this.commandSeconds.observe({ tool }, seconds);
  };

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.requestSeconds.observe({ route, method }, seconds);
  }

  cniCall(command: string, ok: boolean): void {
    this.cniCalls.inc({ command, result: ok ? "ok" : "error" });
  }

  dockerCall(call: string, ok: boolean): void {
    this.dockerCalls.inc({ call, result: ok ? "ok" : "error" });
  }

  etcdWatchRestarted(): void {
    this.etcdWatchRestarts.inc();
  }

  etcdClaim(result: "claimed" | "taken" | "failed"): void {
    this.etcdClaims.inc({ result });
  }

  /** The text a scrape gets, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    this.counters = undefined;
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  private registerTraffic(counters: () => Promise<KernelCounters>): void {
    const labelNames = ["endpoint", "network"] as const;
    const counter = (name: string, help: string, value: (t: EndpointTraffic) => number): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          const all = (await counters()).traffic;
          this.reset();
          for (const t of all) this.inc({ endpoint: t.endpoint, network: t.network }, value(t));
        },
      });
    };
    counter("hostnet_endpoint_received_bytes_total", "Bytes the endpoint received", (t) => t.receivedBytes);
    counter(
      "hostnet_endpoint_received_packets_total",
      "Packets the endpoint received",
      (t) => t.receivedPackets,
    );
    counter("hostnet_endpoint_sent_bytes_total", "Bytes the endpoint sent", (t) => t.sentBytes);
    counter("hostnet_endpoint_sent_packets_total", "Packets the endpoint sent", (t) => t.sentPackets);
    new Counter({
      name: "hostnet_endpoint_dropped_packets_total",
      help: "Packets to (in) or from (out) the endpoint dropped, by why: the interface's own drops, or an ACL",
      labelNames: [...labelNames, "direction", "reason"] as const,
      registers: [this.registry],
      async collect() {
        const all = (await counters()).traffic;
        this.reset();
        for (const t of all)
          for (const d of t.dropped)
            this.inc(
              { endpoint: t.endpoint, network: t.network, direction: d.direction, reason: d.reason },
              d.packets,
            );
      },
    });
  }

  private registerAclHits(counters: () => Promise<KernelCounters>): void {
    new Counter({
      name: "hostnet_acl_rule_packets_total",
      help: "Packets each ACL rule of an endpoint matched",
      labelNames: ["endpoint", "network", "rule", "action", "direction"] as const,
      registers: [this.registry],
      async collect() {
        const hits = (await counters()).aclHits;
        this.reset();
        for (const h of hits)
          this.inc(
            {
              endpoint: h.endpoint,
              network: h.network,
              rule: String(h.rule),
              action: h.action,
              direction: h.direction,
            },
            h.packets,
          );
      },
    });
  }

  private registerLbConnections(counters: () => Promise<KernelCounters>): void {
    new Counter({
      name: "hostnet_lb_backend_connections_total",
      help: "New connections each backend of a load balancer received from it, over all its frontends",
      labelNames: ["loadbalancer", "name", "backend"] as const,
      registers: [this.registry],
      async collect() {
        const all = (await counters()).lbConnections;
        this.reset();
        for (const c of all)
          this.inc({ loadbalancer: c.loadBalancer, name: c.name, backend: c.backend }, c.connections);
      },
    });
  }
}
