/**
 * hostnetd's life: open the store, converge the kernel to it (the same code path that repairs after a
 * crash), create the default network on first start, then serve the API on the unix socket.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from "cockatiel";
import type { Etcd3 } from "etcd3";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "./api/http.js";
import { OverlayRegistry } from "./cluster/registry.js";
import { OverlayAddresses } from "./core/overlay-addresses.js";
import { clusterCaused, OverlayPeers } from "./core/overlay-peers.js";
import { withCause } from "./core/cause.js";
import { convergeEvents } from "./core/record.js";
import { HostnetService } from "./core/service.js";
import { EventLog } from "./events/log.js";
import { kernelFeatures } from "./dataplane/features.js";
import {
  hostAddresses,
  hostPrefixes,
  interfaceAddresses,
  interfaceMtu,
  namespaceAt,
} from "./dataplane/hostfacts.js";
import { linuxUplinks } from "./dataplane/uplink.js";
import { linkStats } from "./dataplane/linux/link-stats.js";
import { udhcpcClients } from "./dataplane/linux/dhcp-client.js";
import { forgetBackend } from "./dataplane/linux/backend-memory.js";
import { DhcpLeases } from "./core/leases.js";
import { DockerPools } from "./ipam/docker-pools.js";
import { buildDockerPlugin } from "./api/docker/server.js";
import type { FirewallIntegration } from "./dataplane/firewall/exceptions.js";
import { linuxKernel } from "./dataplane/kernel.js";
import { progressLog } from "./dataplane/progress-log.js";
import { loggedRunner, measuredRunner } from "./dataplane/linux/exec.js";
import { SpawnerRunner } from "./dataplane/linux/spawner.js";
import { HostnetMetrics } from "./metrics/metrics.js";
import { serveMetrics } from "./metrics/listener.js";
import { fileLimit } from "./dataplane/linux/file-limit.js";
import { LoopbackProxy } from "./dataplane/loopback-proxy.js";
import { Resolver } from "./dns/resolver.js";
import { storeNameBook } from "./core/names.js";
import { Reconciler } from "./dataplane/reconciler.js";
import { traceFlow } from "./dataplane/trace.js";
import { defaultRepairLimits, RepairHolds } from "./dataplane/holds.js";
import { startMonitors } from "./dataplane/linux/monitors.js";
import { defaultWatchOptions, DriftWatcher } from "./dataplane/watch.js";
import type { VanishedNamespace } from "./core/drift.js";
import { HostnetError } from "./errors.js";
import { claimNamespace } from "./namespace-claim.js";
import { Store } from "./store/store.js";

export interface DaemonOptions {
  readonly socket: string;
  readonly stateDir: string;
  readonly defaultNetwork: boolean;
  /** Where Docker finds hostnet's network and IPAM drivers; null serves none. */
  readonly dockerPluginSocket: string | null;
  /** How long a client keeps its backend (source-IP affinity) for load balancers that do not say. */
  readonly affinitySeconds: number;
  /** Whether hostnet adds exceptions to other programs' firewalls that would drop its forwarding. */
  readonly firewallIntegration: FirewallIntegration;
  /** How often the full check for drift runs, in ms; 0 for never (the kernel's monitors still report). */
  readonly resyncMs: number;
  /** Repairs of one object within a minute before repairs hold it back. */
  readonly repairLimit: number;
  /** Where GET /metrics is served over TCP too; null for the unix socket only. */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  /** This host's underlay address, which overlay networks need; null without one. */
  readonly hostAddress: string | null;
  /** The cluster whose overlay networks span hosts: etcd; null for overlay networks of this host only. */
  readonly cluster: ClusterOptions | null;
}

export interface ClusterOptions {
  readonly etcd: readonly string[];
  readonly leaseSeconds: number;
  /** TLS to etcd: its CA's certificates (PEM), and this host's client certificate when etcd wants one. */
  readonly tls?: {
    readonly rootCertificate: Buffer;
    readonly client?: { readonly certChain: Buffer; readonly privateKey: Buffer };
  };
}

/**
 * The client's defaults back off for tens of seconds once etcd has been away (gRPC reconnects up to two
 * minutes apart, watches 30 s, an open circuit 5 s), so a host would publish late after an outage: here no
 * wait exceeds a second or two. etcd3 is loaded only for a cluster: with gRPC and protobufjs it was a
 * fifth of hostnetd's module loading (0.2 s of 0.9 s on a test host, 6 to 10 s under emulation).
 */
async function connectEtcd(cluster: ClusterOptions): Promise<Etcd3> {
  const { Etcd3, isRecoverableError } = await import("etcd3");
  const tls = cluster.tls;
  return new Etcd3({
    grpcOptions: { "grpc.initial_reconnect_backoff_ms": 250, "grpc.max_reconnect_backoff_ms": 1000 },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 1000,
          breaker: new ConsecutiveBreaker(3),
        }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
    },
    hosts: [...cluster.etcd],
    ...(tls === undefined ? {} : { credentials: { rootCertificate: tls.rootCertificate, ...tls.client } }),
  });
}

/** One line for each namespace that vanished under hostnet, with the endpoints it detached. */
function logVanished(log: Logger, cause: string, v: VanishedNamespace): void {
  log.info(
    {
      op: "repair",
      cause,
      namespace: { id: v.namespace.id, path: v.namespace.path, owned: v.namespace.owned },
      detached: v.detached.map((ep) => ({ kind: "endpoint", id: ep.id, name: ep.name })),
    },
    v.namespace.owned
      ? "namespace vanished: its endpoints are detached and it is forgotten"
      : "namespace vanished: its endpoints are detached",
  );
}

export interface Daemon {
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** A socket file nobody answers on is left over from a crash; a live one means another hostnetd. */
async function claimSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
  if (alive) throw new HostnetError("Conflict", `another hostnetd is serving ${path}`);
  rmSync(path, { force: true });
}

async function listen(app: FastifyInstance, socket: string): Promise<void> {
  await app.listen({ path: socket });
  chmodSync(socket, 0o660);
}

/**
 * Everything that could refuse a second hostnetd comes before the store is read or the kernel touched: the
 * network namespace, the state directory (the store's lock), and the sockets (which another namespace's
 * hostnetd could serve).
 */
export async function startDaemon(opts: DaemonOptions, log: Logger): Promise<Daemon> {
  const started = performance.now();
  const claim = await claimNamespace({ socket: opts.socket, stateDir: opts.stateDir });
  // What bounds the [::1] relays: Node has raised the soft limit to the hard one (LimitNOFILE=).
  log.info({ op: "file-limit", ...fileLimit() }, "open file limit");
  const storePath = join(opts.stateDir, "hostnet.db");
  const store = new Store(storePath);
  await claimSocket(opts.socket);
  if (opts.dockerPluginSocket !== null) await claimSocket(opts.dockerPluginSocket);
  const proxy = new LoopbackProxy();
  const metrics = new HostnetMetrics();
  const spawner = new SpawnerRunner();
  const runner = measuredRunner(loggedRunner(spawner, log), metrics.command);
  const resolver = new Resolver(storeNameBook(store));
  const events = new EventLog(store);
  const eventsOfConverges = convergeEvents({ store, events });
  const reconciler = new Reconciler(
    store,
    linuxKernel({ proxy, resolver }, runner),
    log,
    opts.firewallIntegration,
    new RepairHolds({ ...defaultRepairLimits, limit: opts.repairLimit }),
    (...report) => {
      metrics.converged(...report);
      eventsOfConverges(...report);
    },
  );
  const dhcp = udhcpcClients(join(opts.stateDir, "udhcpc.sh"), (msg) => log.warn({ op: "dhcp" }, msg));
  const leases = new DhcpLeases(store, reconciler, dhcp, log);
  const overlayLog = log.child({ component: "overlay" });
  const registry =
    opts.cluster === null || opts.hostAddress === null
      ? undefined
      : new OverlayRegistry(
          await connectEtcd(opts.cluster),
          opts.hostAddress,
          opts.cluster.leaseSeconds,
          overlayLog,
          metrics,
        );
  const overlayAddresses =
    registry === undefined ? undefined : new OverlayAddresses(store, reconciler, registry, overlayLog);
  const service = new HostnetService(
    store,
    reconciler,
    {
      prefixes: () => hostPrefixes(runner),
      addresses: () => hostAddresses(runner),
      uplinks: linuxUplinks(runner),
      leases,
      forgetBackend: forgetBackend(runner),
      lbAffinitySeconds: opts.affinitySeconds,
      interfaceMtu: (address) => interfaceMtu(runner, address),
      interfaceAddresses: (netns, ifname) => interfaceAddresses(runner, netns, ifname),
      namespaceAt,
      linkStats,
      kernelFeatures,
      trace: (trace, signal) => traceFlow(reconciler, runner, trace, signal),
      ...(opts.hostAddress === null ? {} : { hostAddress: opts.hostAddress }),
      ...(registry === undefined || overlayAddresses === undefined
        ? {}
        : { overlay: { registry, addresses: overlayAddresses } }),
    },
    events,
  );
  metrics.readFrom({
    ...service.metricsSources(),
    ...(registry === undefined ? {} : { etcdConnected: () => registry.available }),
  });
  await withCause("restart", async () => {
    for (const vanished of await service.vanishedNamespaces())
      logVanished(log, "namespace missing at start-up", vanished);
    const { report, failures } = await reconciler.convergeAll(progressLog(log, { op: "startup-converge" }));
    log.info(
      { op: "startup-converge", ...report, failed: failures.map((f) => f.owner) },
      "kernel converged to the store",
    );
    await service.restoreUplinks();
    leases.resume();
    if (opts.defaultNetwork) await service.ensureDefaultNetwork("nat");
  });
  if (registry !== undefined) {
    registry.onAvailability((available, why) => {
      events.record({
        kind: "cluster",
        action: available ? "connected" : "lost",
        id: registry.hostAddress,
        name: opts.cluster?.etcd.join(",") ?? "etcd",
        cause: "cluster",
        details: why === undefined ? {} : { Error: why },
      });
    });
    registry.start(
      clusterCaused(new OverlayPeers(store, reconciler, service, registry.hostAddress, overlayLog)),
    );
  }
  await overlayAddresses?.claimMissingSources();
  const watcher = new DriftWatcher(
    reconciler,
    (cause, drift) =>
      withCause("drift", async () => {
        const { vanished } = await service.repairDrift(cause, drift);
        for (const v of vanished) logVanished(log, cause, v);
      }),
    log,
    { ...defaultWatchOptions, resyncMs: opts.resyncMs },
  );
  watcher.start(startMonitors);

  const app = await buildApp(
    service,
    log,
    {
      socket: opts.socket,
      store: storePath,
      kernel: () => ({ release: release(), features: kernelFeatures() }),
      ...(opts.cluster === null || registry === undefined
        ? {}
        : { etcd: { endpoints: opts.cluster.etcd, connected: () => registry.available } }),
    },
    metrics,
  );
  await listen(app, opts.socket);
  const scrapes =
    opts.metricsListen === null ? undefined : await serveMetrics(metrics, opts.metricsListen, log);
  let plugin: FastifyInstance | undefined;
  if (opts.dockerPluginSocket !== null) {
    const pools = new DockerPools(store, (family, taken, field) => service.freeSubnet(family, taken, field));
    plugin = buildDockerPlugin(service, pools, log.child({ component: "docker-plugin" }), metrics);
    await listen(plugin, opts.dockerPluginSocket);
  }
  log.info(
    { op: "listen", socket: opts.socket, durationMs: Math.round(performance.now() - started) },
    "hostnetd ready",
  );
  return {
    app,
    async close() {
      await watcher.stop();
      await app.close();
      await plugin?.close();
      await scrapes?.close();
      await registry?.close();
      leases.stopAll();
      await proxy.closeAll();
      await resolver.closeAll();
      store.close();
      claim.close();
      spawner.close();
    },
  };
}
