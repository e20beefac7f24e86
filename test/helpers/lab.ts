/**
 * The world most integration tests share: a topology, hostnetd in its host namespace, and a cleanup list,
 * set up before the file's tests and torn down after them, also when they fail.
 */
import { afterAll, beforeAll } from "vitest";
import { Cleanup } from "./cleanup.js";
import { startDaemon, type TestDaemonOptions, type TestDaemon } from "./daemon.js";
import { createTopology, type Topology } from "./topology.js";

export interface EndpointBody {
  ID: string;
  Name: string;
  HostInterfaceName: string;
  MacAddress: string;
  IpConfigurations: { IpAddress: string }[];
}

export interface Lab {
  readonly t: Topology;
  readonly d: TestDaemon;
  readonly cleanup: Cleanup;
  /** A network with the given subnets (and any other fields of the request). */
  network(
    name: string,
    subnets: readonly string[],
    extra?: Record<string, unknown>,
  ): Promise<{ ID: string; Bridge: string }>;
  /** A namespace `t.ns(name)` and an endpoint `name` attached to it. */
  container(name: string, network: string, extra?: Record<string, unknown>): Promise<EndpointBody>;
  /** The operations a full converge would apply now; empty when the kernel matches the store. */
  plan(): Promise<unknown[]>;
}

export interface LabOptions extends TestDaemonOptions {
  /** Runs after the topology exists and before hostnetd starts. */
  readonly prepare?: (t: Topology) => Promise<void>;
  readonly daemonArgs?: readonly string[];
  /** hostnetd's options besides its arguments, asked for once `prepare` has run. */
  readonly daemon?: () => TestDaemonOptions;
}

export function useLab(opts: LabOptions = {}): Lab {
  const cleanup = new Cleanup();
  let topology: Topology | undefined;
  let daemon: TestDaemon | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the lab is not set up (did beforeAll fail?)");
    return value;
  };

  beforeAll(async () => {
    const t = await createTopology();
    topology = t;
    cleanup.add(() => t.destroy());
    await opts.prepare?.(t);
    const d = await startDaemon(t.host, opts.daemonArgs ?? ["--no-default-network"], {
      ...opts,
      ...opts.daemon?.(),
    });
    daemon = d;
    cleanup.add(() => d.stop());
  });
  afterAll(() => cleanup.run());

  const lab: Lab = {
    get t() {
      return ready(topology);
    },
    get d() {
      return ready(daemon);
    },
    cleanup,
    network: (name, subnets, extra = {}) =>
      lab.d.ok("POST", "/networks", {
        Name: name,
        Ipams: [{ Subnets: subnets.map((s) => ({ IpAddressPrefix: s })) }],
        ...extra,
      }),
    async container(name, network, extra = {}) {
      await lab.d.ok("POST", "/namespaces", { Name: lab.t.ns(name) });
      return lab.d.ok<EndpointBody>("POST", "/endpoints", {
        Name: name,
        HostComputeNetwork: network,
        HostComputeNamespace: lab.t.ns(name),
        ...extra,
      });
    },
    async plan() {
      return (await lab.d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations;
    },
  };
  return lab;
}
