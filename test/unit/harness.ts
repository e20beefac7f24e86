/** A whole hostnetd minus the kernel: in-memory store, memory kernel, reconciler and service. */
import { existsSync } from "node:fs";
import { expect } from "vitest";
import { OverlayAddresses } from "../../src/core/overlay-addresses.js";
import { desiredState } from "../../src/dataplane/desired.js";
import type { NamespaceAtPath } from "../../src/dataplane/hostfacts.js";
import { identity } from "../../src/dataplane/objects.js";
import { pino } from "pino";
import type { FirewallIntegration } from "../../src/dataplane/firewall/exceptions.js";
import { Reconciler } from "../../src/dataplane/reconciler.js";
import { HostnetService } from "../../src/core/service.js";
import { HostnetError } from "../../src/errors.js";
import { parsePrefix, type Prefix } from "../../src/model/ip.js";
import { Store } from "../../src/store/store.js";
import type { HostAddress } from "../../src/dataplane/hostfacts.js";
import type { UplinkHost, UplinkInspection } from "../../src/dataplane/uplink.js";
import type { UplinkSnapshot } from "../../src/model/types.js";
import type { KernelFeatures } from "../../src/model/kernel-features.js";
import { DhcpLeases } from "../../src/core/leases.js";
import type { ForgetBackend } from "../../src/dataplane/linux/backend-memory.js";
import type { DhcpClients, DhcpClientSpec, DhcpEvent } from "../../src/dataplane/linux/dhcp-client.js";
import type { OverlayRegistry } from "../../src/cluster/registry.js";
import type { TraceRunner } from "../../src/core/trace.js";
import { MemoryKernel } from "../helpers/memory-kernel.js";

/** NICs of hostnetd's namespace that networks may take as uplinks, and what was given back to them. */
export class FakeUplinks implements UplinkHost {
  readonly nics = new Map<string, UplinkSnapshot>();
  readonly restored: UplinkSnapshot[] = [];
  inspect(dev: string): Promise<UplinkInspection> {
    const snapshot = this.nics.get(dev);
    return Promise.resolve(
      snapshot === undefined
        ? { usable: false, why: `there is no interface ${dev}` }
        : { usable: true, snapshot },
    );
  }
  restore(snapshot: UplinkSnapshot): Promise<void> {
    this.restored.push(snapshot);
    return Promise.resolve();
  }
}

/** DHCP clients that lease what a test tells them to. */
export class FakeDhcp implements DhcpClients {
  readonly running = new Map<string, { spec: DhcpClientSpec; onEvent: (e: DhcpEvent) => Promise<void> }>();
  start(spec: DhcpClientSpec, onEvent: (e: DhcpEvent) => Promise<void>): void {
    if (!this.running.has(spec.key)) this.running.set(spec.key, { spec, onEvent });
  }
  stop(key: string): void {
    this.running.delete(key);
  }
  stopAll(): void {
    this.running.clear();
  }
  /** What the client of `key` reports, recorded before this resolves. */
  async report(key: string, event: DhcpEvent): Promise<void> {
    const client = this.running.get(key);
    if (client === undefined) throw new Error(`no DHCP client for ${key}`);
    await client.onEvent(event);
  }
}

/** Interfaces of containers' namespaces as the kernel reports them: their addresses by "netns/ifname". */
export class FakeInterfaces {
  readonly addresses = new Map<string, string[]>();
  lookup(netns: string, ifname: string): Promise<string[] | undefined> {
    return Promise.resolve(this.addresses.get(`${netns}/${ifname}`));
  }
}

export interface Harness {
  readonly store: Store;
  readonly uplinks: FakeUplinks;
  readonly dhcp: FakeDhcp;
  readonly interfaces: FakeInterfaces;
  readonly leases: DhcpLeases;
  readonly kernel: MemoryKernel;
  readonly reconciler: Reconciler;
  readonly service: HostnetService;
  /** Makes a new reconciler and service on the same store and kernel, as a restarted hostnetd would. */
  restart(): Harness;
  close(): void;
}

export const silent = pino({ level: "silent" });

const constant =
  <T>(value: T): (() => T) =>
  () =>
    value;

export function harness(
  opts: {
    hostPrefixes?: readonly string[];
    /** The host's own addresses and default gateways. */
    hostAddresses?: readonly HostAddress[];
    kernel?: MemoryKernel;
    store?: Store;
    uplinks?: FakeUplinks;
    dhcp?: FakeDhcp;
    interfaces?: FakeInterfaces;
    /** hostnetd --host-address. */
    hostAddress?: string;
    /** Interfaces' MTUs by the address they have. */
    underlay?: Readonly<Record<string, number>>;
    /** The cluster's registry (hostnetd --etcd). */
    overlay?: OverlayRegistry;
    /** What files are, where a test says; any other existing file is a network namespace. */
    namespaces?: Readonly<Record<string, NamespaceAtPath>>;
    /** hostnetd --firewall-integration. */
    firewallIntegration?: FirewallIntegration;
    /** What forgets load balancers' backends in the kernel (conntrack, affinities); nothing by default. */
    forgetBackend?: ForgetBackend;
    /** What sends a traced probe; by default one that no hook saw. */
    trace?: TraceRunner;
    /** The kernel's features; unknown by default, which refuses nothing. */
    kernelFeatures?: KernelFeatures;
  } = {},
): Harness {
  const store = opts.store ?? new Store(":memory:");
  const kernel = opts.kernel ?? new MemoryKernel();
  const prefixes: Prefix[] = (opts.hostPrefixes ?? []).map((c) => parsePrefix("host", c));
  const reconciler = new Reconciler(store, kernel, silent, opts.firewallIntegration);
  const uplinks = opts.uplinks ?? new FakeUplinks();
  const dhcp = opts.dhcp ?? new FakeDhcp();
  const interfaces = opts.interfaces ?? new FakeInterfaces();
  const leases = new DhcpLeases(store, reconciler, dhcp, silent);
  const service = new HostnetService(store, reconciler, {
    prefixes: () => Promise.resolve(prefixes),
    addresses: () => Promise.resolve([...(opts.hostAddresses ?? [])]),
    uplinks,
    leases,
    forgetBackend: opts.forgetBackend ?? (() => Promise.resolve()),
    interfaceMtu: (address) => Promise.resolve(opts.underlay?.[address]),
    interfaceAddresses: (netns, ifname) => interfaces.lookup(netns, ifname),
    namespaceAt: (path) => opts.namespaces?.[path] ?? (existsSync(path) ? "network namespace" : "missing"),
    linkStats: () => Promise.resolve(new Map()),
    trace:
      opts.trace ?? (() => Promise.resolve({ lines: [], path: { hops: [], dropped: false }, probe: "sent" })),
    ...(opts.hostAddress === undefined ? {} : { hostAddress: opts.hostAddress }),
    ...(opts.kernelFeatures === undefined ? {} : { kernelFeatures: constant(opts.kernelFeatures) }),
    ...(opts.overlay === undefined
      ? {}
      : {
          overlay: {
            registry: opts.overlay,
            addresses: new OverlayAddresses(store, reconciler, opts.overlay, silent),
          },
        }),
  });
  return {
    store,
    uplinks,
    dhcp,
    interfaces,
    leases,
    kernel,
    reconciler,
    service,
    restart: () => harness({ ...opts, store, kernel, uplinks, dhcp, interfaces }),
    close: () => {
      store.close();
    },
  };
}

/** The HostnetError `fn` throws (fails if it returns or throws anything else). */
export function thrown(fn: () => unknown): HostnetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HostnetError) return err;
    throw err;
  }
  throw new Error("expected a HostnetError, the call returned");
}

/** The HostnetError a promise rejects with (fails if it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<HostnetError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HostnetError) return err;
    throw err;
  }
  throw new Error("expected a HostnetError, the call succeeded");
}

/** Everything the store holds, to prove a refused request recorded nothing. */
export const storeSnapshot = (h: Harness): unknown => ({
  networks: h.service.networks(),
  endpoints: h.service.endpoints(),
  namespaces: h.service.namespaces(),
});

/** The kernel holds exactly what the store asks for. */
export function expectConverged(h: Harness): void {
  const desired = desiredState({
    networks: h.store.networks.all(),
    endpoints: h.store.endpoints.all(),
    namespaces: h.store.namespaces.all(),
    loadBalancers: [],
    instance: h.store.meta.instanceId(),
  });
  expect(new Set(h.kernel.objects.keys())).toEqual(new Set(desired.map(identity)));
}

let counter = 0;

/** A namespace name no other test (or leftover on this host) uses. */
export const uniqueName = (base: string): string => `unit-${base}-${process.pid}-${++counter}`;
