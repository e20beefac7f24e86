/**
 * Crash chaos: mixed operations through every door (REST through the client, the `hostnet` CLI, CNI ADD
 * and DEL through the built plugin executable, Docker's network and IPAM plugin calls on the plugin socket)
 * while hostnetd is killed with SIGKILL at random moments and restarted. After every restart, before any
 * operation goes on, and at the end, the host is checked (checkHost): the startup converge left nothing to
 * plan, no owned kernel object without its record and no record without its objects (ownership.ts), no
 * acknowledged endpoint lost, no address given twice; and SQLite's integrity check of the database as each
 * kill left it passes.
 *
 * The operations are drawn by fast-check from a seed, so a run can be repeated; workers run them
 * concurrently, so which of them a kill interrupts depends on timing.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import * as fc from "fast-check";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient, type HostnetClient } from "../../src/client/client.js";
import { HostnetError } from "../../src/errors.js";
import { execCni } from "./cni-exec.js";
import { apiRequest, type TestDaemon } from "./daemon.js";
import { compare, kernelView, storeView, type StoreView } from "./ownership.js";
import { must, run } from "./run.js";
import { median } from "../../bench/stats.js";
import type { Topology } from "./topology.js";

const HOSTNET_CLI = join(import.meta.dirname, "../../dist/bin/hostnet.js");

export interface ChaosOptions {
  readonly operations: number;
  readonly seed: number;
  /** Operations in flight at once. */
  readonly workers?: number;
  /**
   * How many operations begin between a restart and the next kill, drawn from this range: a fast host
   * sees as many kills as a slow one. The kill comes 0 to 500 ms after that many began, mid-operation.
   */
  readonly opsBetweenKills?: readonly [number, number];
  /** Told one line after each restart's check. */
  readonly progress?: (line: string) => void;
}

export interface ChaosFigures {
  readonly seed: number;
  readonly operations: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Operations whose last request hostnetd answered with success, with a refusal, or not at all. */
  readonly acknowledged: number;
  readonly refused: number;
  readonly unanswered: number;
  readonly kills: number;
  /** From the kill to hostnetd answering again, its startup converge done. */
  readonly restartMedianMs: number;
  readonly checks: number;
  readonly leaked: readonly string[];
  readonly missing: readonly string[];
  readonly lost: readonly string[];
  readonly duplicates: readonly string[];
  readonly integrity: readonly string[];
  /** Operations `hostnet plan` still listed after a startup converge, each prefixed by the check's number. */
  readonly planAfterStart: readonly string[];
  /** hostnetd's log lines at level error or fatal. */
  readonly serverErrors: readonly string[];
  readonly seconds: number;
}

type Outcome =
  | { readonly status: "ok"; readonly body: unknown }
  | { readonly status: "refused"; readonly message: string }
  | { readonly status: "unanswered" };

/** Whether each record a client was told about is still there: names of endpoints and networks. */
class Ledger {
  private readonly fates = new Map<string, "live" | "gone" | "uncertain">();
  /** Addresses an acknowledged, not since released, answer gave: to whom. */
  private readonly held = new Map<string, string>();
  readonly lost: string[] = [];
  readonly duplicates: string[] = [];

  /** A request about `key` is on its way: until answered, it may or may not have happened. */
  attempt(key: string): void {
    this.fates.set(key, "uncertain");
    this.release(key);
  }

  created(key: string, addresses: readonly string[]): void {
    this.fates.set(key, "live");
    for (const a of addresses) this.hold(a, key);
  }

  /** Deleted, or found gone: a "live" record found gone was lost. */
  gone(key: string, foundGone = false): void {
    if (foundGone && this.fates.get(key) === "live") this.lost.push(`${key} (answered "not found")`);
    this.fates.set(key, "gone");
    this.release(key);
  }

  fate(key: string): "live" | "gone" | "uncertain" | undefined {
    return this.fates.get(key);
  }

  hold(address: string, key: string): void {
    const holder = this.held.get(address);
    if (holder !== undefined && holder !== key) this.duplicates.push(`${address}: ${holder} and ${key}`);
    this.held.set(address, key);
  }

  releaseAddress(address: string): void {
    this.held.delete(address);
  }

  /** After a restart: what was uncertain is what the store says; what was live must be there. */
  resolve(present: ReadonlySet<string>): void {
    for (const [key, fate] of this.fates)
      if (fate === "uncertain") this.fates.set(key, present.has(key) ? "live" : "gone");
      else if (fate === "live" && !present.has(key)) {
        this.lost.push(key);
        this.fates.set(key, "gone");
      }
  }

  private release(key: string): void {
    for (const [a, holder] of this.held) if (holder === key) this.held.delete(a);
  }
}

/** Closed while hostnetd is down or checked: requests wait at it. */
class Gate {
  private opened: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  close(): void {
    this.opened = new Promise((r) => (this.release = r));
  }

  open(): void {
    this.release?.();
  }

  /** Runs one request once the gate is open, counting it as in flight. */
  async pass<T>(request: () => Promise<T>): Promise<T> {
    await this.opened;
    this.inFlight++;
    try {
      return await request();
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  async drained(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
  }
}

const kinds = {
  restCreate: 4,
  restDelete: 3,
  restPolicy: 1,
  restAttachDetach: 1,
  restNetwork: 1,
  cliCreate: 1,
  cliDelete: 1,
  cniAdd: 3,
  cniDel: 2,
  docker: 5,
} as const;
type Kind = keyof typeof kinds;

interface KillAt {
  /** Operations begun since the last restart. */
  readonly after: number;
  readonly delayMs: number;
}

/** The operations and when to kill, drawn from the seed. */
function draw(opts: ChaosOptions): { ops: { kind: Kind; pick: number }[]; kills: KillAt[] } {
  const kind = fc.oneof(
    ...Object.entries(kinds).map(([k, weight]) => ({ arbitrary: fc.constant(k as Kind), weight })),
  );
  const [low, high] = opts.opsBetweenKills ?? [15, 35];
  const [plan] = fc.sample(
    fc.record({
      ops: fc.array(fc.record({ kind, pick: fc.nat() }), {
        minLength: opts.operations,
        maxLength: opts.operations,
      }),
      kills: fc.array(
        fc.record({ after: fc.integer({ min: low, max: high }), delayMs: fc.integer({ min: 0, max: 500 }) }),
        { minLength: 1000, maxLength: 1000 },
      ),
    }),
    { seed: opts.seed, numRuns: 1 },
  );
  if (plan === undefined) throw new Error("fast-check drew nothing");
  return plan;
}

interface RestEndpoint {
  readonly name: string;
  readonly door: "rest" | "cli";
  readonly namespace?: string;
}
interface CniContainer {
  readonly id: string;
  readonly netns: string;
}
type DockerStage = "new" | "addressed" | "created" | "joined" | "left" | "deleted";
interface DockerContainer {
  readonly id: string;
  stage: DockerStage;
  address?: string;
}

const CHAOS_NETWORK = "chaos";
const DOCKER_POOL = "10.81.0.0/16";
const CNI_SUBNET = "10.82.0.0/16";

export async function runCrashChaos(t: Topology, d: TestDaemon, opts: ChaosOptions): Promise<ChaosFigures> {
  const started = performance.now();
  const { ops, kills: killAt } = draw(opts);
  const client: HostnetClient = createClient({ socket: d.socket, timeoutMs: 60_000 });
  const pluginSocket = join(d.pluginDir, "hostnet.sock");
  const gate = new Gate();
  const ledger = new Ledger();
  const busy = new Set<string>();
  const rest: RestEndpoint[] = [];
  const networks: string[] = [];
  const cni: CniContainer[] = [];
  const dockers: DockerContainer[] = [];
  const counts = { acknowledged: 0, refused: 0, unanswered: 0 };
  const findings = {
    leaked: [] as string[],
    missing: [] as string[],
    duplicates: [] as string[],
    integrity: [] as string[],
    planAfterStart: [] as string[],
  };
  let serial = 0;
  let kills = 0;
  let checks = 0;

  /**
   * Each door's request waits at the gate; `attempt`, the ledger's key the request may change, is marked
   * uncertain only once it is sent: a check while it waits must not settle what it has yet to do.
   */
  const viaClient = (call: (c: HostnetClient) => Promise<unknown>, attempt?: string): Promise<Outcome> =>
    gate.pass(async () => {
      if (attempt !== undefined) ledger.attempt(attempt);
      try {
        return { status: "ok", body: await call(client) };
      } catch (err) {
        // The client's Unavailable with a cause is a connection that failed, not an answer.
        if (err instanceof HostnetError && err.code === "Unavailable" && err.cause !== undefined)
          return { status: "unanswered" };
        return { status: "refused", message: err instanceof Error ? err.message : String(err) };
      }
    });
  const viaCli = (args: readonly string[], attempt: string): Promise<Outcome> =>
    gate.pass(async () => {
      ledger.attempt(attempt);
      const r = await run([process.execPath, HOSTNET_CLI, "--socket", d.socket, ...args], {
        timeoutMs: 60_000,
      });
      if (r.code === 0) return { status: "ok", body: r.stdout };
      if (/not running at|lost the connection|cannot connect/.test(r.stderr)) return { status: "unanswered" };
      return { status: "refused", message: r.stderr.trim() };
    });
  const cniNetwork = { socket: d.socket, network: "chaos-cni", subnet: CNI_SUBNET };
  const viaCni = (command: "ADD" | "DEL", c: CniContainer): Promise<Outcome> =>
    gate.pass(async () => {
      ledger.attempt(`ep:cni-${c.id}`);
      const { exitCode, output } = await execCni(cniNetwork, command, c.id, c.netns);
      if (exitCode === 0) return { status: "ok", body: output };
      // 11, "try again later": the plugin could not reach hostnetd or lost it.
      if (output.code === 11) return { status: "unanswered" };
      return { status: "refused", message: output.msg ?? "" };
    });
  const viaDocker = (method: string, body: Record<string, unknown>, attempt?: string): Promise<Outcome> =>
    gate.pass(async () => {
      if (attempt !== undefined) ledger.attempt(attempt);
      let res;
      try {
        res = await apiRequest(pluginSocket, "POST", `/${method}`, body);
      } catch {
        return { status: "unanswered" };
      }
      const answer = (res.body ?? {}) as { Err?: string; Error?: string };
      const error = answer.Err ?? answer.Error ?? "";
      if (res.status !== 200 || error !== "")
        return { status: "refused", message: `${String(res.status)} ${error}` };
      return { status: "ok", body: res.body };
    });

  const addressesOf = (ep: unknown): string[] =>
    ((ep as { IpConfigurations?: { IpAddress: string }[] }).IpConfigurations ?? []).map((c) => c.IpAddress);
  const notFound = (o: Outcome): boolean =>
    o.status === "refused" && /not found|no interface|has no|not exist/i.test(o.message);
  /** A free entity of a list, by the op's pick, marked busy until `use` ends. */
  async function withOne<T extends object | string>(
    list: readonly T[],
    key: (item: T) => string,
    pick: number,
    use: (item: T) => Promise<Outcome>,
  ): Promise<Outcome | undefined> {
    const free = list.filter((item) => !busy.has(key(item)));
    const item = free[pick % Math.max(free.length, 1)];
    if (item === undefined) return undefined;
    busy.add(key(item));
    try {
      return await use(item);
    } finally {
      busy.delete(key(item));
    }
  }
  const remove = <T>(list: T[], item: T): void => {
    list.splice(list.indexOf(item), 1);
  };

  async function restCreate(pick: number): Promise<Outcome> {
    const name = `r${serial++}`;
    const key = `ep:${name}`;
    busy.add(key);
    try {
      let namespace: string | undefined;
      if (pick % 2 === 0) {
        namespace = t.ns(name);
        rest.push({ name, door: "rest", namespace });
        const ns = await viaClient((c) => c.createNamespace({ Name: namespace ?? "" }));
        if (ns.status !== "ok") return ns;
      } else rest.push({ name, door: "rest" });
      const body = { Name: name, HostComputeNetwork: CHAOS_NETWORK };
      const o = await viaClient(
        (c) =>
          c.createEndpoint(namespace === undefined ? body : { ...body, HostComputeNamespace: namespace }),
        key,
      );
      if (o.status === "ok") ledger.created(key, addressesOf(o.body));
      if (o.status === "refused") ledger.gone(key);
      return o;
    } finally {
      busy.delete(key);
    }
  }

  async function endpointDelete(ep: RestEndpoint): Promise<Outcome> {
    const key = `ep:${ep.name}`;
    const o =
      ep.door === "rest"
        ? await viaClient((c) => c.deleteEndpoint(ep.name), key)
        : await viaCli(["endpoint", "rm", ep.name], key);
    if (o.status === "ok" || notFound(o)) {
      ledger.gone(key, notFound(o));
      if (ep.namespace === undefined) remove(rest, ep);
      else {
        const ns = ep.namespace;
        const gone = await viaClient((c) => c.deleteNamespace(ns));
        if (gone.status === "ok" || notFound(gone)) remove(rest, ep);
      }
    }
    return o;
  }

  async function restAttachDetach(ep: RestEndpoint): Promise<Outcome> {
    if (ledger.fate(`ep:${ep.name}`) === "gone") return endpointDelete(ep);
    const now = await viaClient((c) => c.endpoint(ep.name));
    if (now.status !== "ok") return now;
    const attached = (now.body as { HostComputeNamespace: string | null }).HostComputeNamespace !== null;
    const ns = ep.namespace;
    if (attached) return viaClient((c) => c.detachEndpoint(ep.name));
    if (ns !== undefined) return viaClient((c) => c.attachEndpoint(ep.name, { HostComputeNamespace: ns }));
    return now;
  }

  async function restNetwork(pick: number): Promise<Outcome> {
    const existing = await withOne(
      networks,
      (n) => `net:${n}`,
      pick,
      async (name) => {
        const o = await viaClient((c) => c.deleteNetwork(name, { force: true }), `net:${name}`);
        if (o.status === "ok" || notFound(o)) {
          ledger.gone(`net:${name}`, notFound(o));
          remove(networks, name);
        }
        return o;
      },
    );
    if (existing !== undefined && pick % 3 !== 0) return existing;
    const n = serial++;
    const name = `x${n}`;
    networks.push(name);
    busy.add(`net:${name}`);
    const o = await viaClient(
      (c) =>
        c.createNetwork({
          Name: name,
          Ipams: [{ Subnets: [{ IpAddressPrefix: `10.${100 + (n >> 8)}.${n % 256}.0/24` }] }],
        }),
      `net:${name}`,
    );
    busy.delete(`net:${name}`);
    if (o.status === "ok") ledger.created(`net:${name}`, []);
    if (o.status === "refused") {
      ledger.gone(`net:${name}`);
      remove(networks, name);
    }
    return o;
  }

  async function cliCreate(): Promise<Outcome> {
    const name = `l${serial++}`;
    const key = `ep:${name}`;
    busy.add(key);
    rest.push({ name, door: "cli" });
    try {
      const o = await viaCli(["endpoint", "create", name, "--network", CHAOS_NETWORK], key);
      if (o.status === "ok") ledger.created(key, []);
      if (o.status === "refused") ledger.gone(key);
      return o;
    } finally {
      busy.delete(key);
    }
  }

  async function cniAdd(pick: number): Promise<Outcome> {
    const idle = cni.filter((c) => ledger.fate(`ep:cni-${c.id}`) === "gone" && !busy.has(c.id));
    let c = idle[pick % Math.max(idle.length, 1)];
    if (c === undefined) {
      const id = `k${serial++}`;
      await must(["ip", "netns", "add", t.ns(id)]);
      c = { id, netns: `/run/netns/${t.ns(id)}` };
      cni.push(c);
    }
    const container = c;
    const key = `ep:cni-${container.id}`;
    busy.add(container.id);
    try {
      const o = await viaCni("ADD", container);
      if (o.status === "ok") ledger.created(key, addressesOfCni(o.body));
      // A refused ADD undoes itself, as the spec asks.
      if (o.status === "refused") ledger.gone(key);
      return o;
    } finally {
      busy.delete(container.id);
    }
  }

  async function cniDel(c: CniContainer): Promise<Outcome> {
    const key = `ep:cni-${c.id}`;
    if (ledger.fate(key) === "gone") return { status: "ok", body: {} };
    const o = await viaCni("DEL", c);
    if (o.status === "ok") ledger.gone(key);
    return o;
  }

  let dockerNetwork = "";
  let poolId = "";
  async function dockerStep(pick: number): Promise<Outcome> {
    const started = dockers.filter((c) => !busy.has(c.id));
    let c = pick % 3 === 0 ? undefined : started[pick % Math.max(started.length, 1)];
    if (c === undefined) {
      c = { id: randomBytes(32).toString("hex"), stage: "new" };
      dockers.push(c);
    }
    const container = c;
    busy.add(container.id);
    try {
      return await dockerAdvance(container);
    } finally {
      busy.delete(container.id);
    }
  }

  async function dockerAdvance(c: DockerContainer): Promise<Outcome> {
    const key = `ep:docker-${c.id.slice(0, 12)}`;
    const ids = { NetworkID: dockerNetwork, EndpointID: c.id };
    switch (c.stage) {
      case "new": {
        const o = await viaDocker("IpamDriver.RequestAddress", { PoolID: poolId, Address: "", Options: {} });
        if (o.status === "ok") {
          c.address = (o.body as { Address: string }).Address;
          ledger.hold(c.address.split("/")[0] ?? "", `docker-ipam:${c.id}`);
          c.stage = "addressed";
        }
        return o;
      }
      case "addressed": {
        const o = await viaDocker(
          "NetworkDriver.CreateEndpoint",
          { ...ids, Interface: { Address: c.address }, Options: {} },
          key,
        );
        if (o.status === "ok") {
          ledger.created(key, []);
          c.stage = "created";
        }
        return o;
      }
      case "created":
      case "joined": {
        const join = c.stage === "created";
        const o = join
          ? await viaDocker("NetworkDriver.Join", {
              ...ids,
              SandboxKey: `/var/run/docker/netns/${c.id.slice(0, 12)}`,
              Options: {},
            })
          : await viaDocker("NetworkDriver.Leave", ids);
        if (o.status === "ok") c.stage = join ? "joined" : "left";
        return o;
      }
      case "left": {
        const o = await viaDocker("NetworkDriver.DeleteEndpoint", ids, key);
        if (o.status === "ok") {
          ledger.gone(key);
          c.stage = "deleted";
        }
        return o;
      }
      case "deleted": {
        const address = c.address ?? "";
        ledger.releaseAddress(address.split("/")[0] ?? "");
        const o = await viaDocker("IpamDriver.ReleaseAddress", { PoolID: poolId, Address: address });
        if (o.status === "ok") remove(dockers, c);
        return o;
      }
    }
  }

  async function runOne(kind: Kind, pick: number): Promise<Outcome> {
    const restOne = (use: (ep: RestEndpoint) => Promise<Outcome>, door?: "rest" | "cli") =>
      withOne(
        rest.filter((ep) => door === undefined || ep.door === door),
        (ep) => `ep:${ep.name}`,
        pick,
        use,
      );
    const live = (ep: RestEndpoint): boolean => ledger.fate(`ep:${ep.name}`) === "live";
    switch (kind) {
      case "restCreate":
        return restCreate(pick);
      case "restDelete":
        return (await restOne(endpointDelete, "rest")) ?? restCreate(pick);
      case "restPolicy":
        return (
          (await restOne((ep) =>
            live(ep)
              ? viaClient((c) =>
                  c.modifyPolicies(ep.name, {
                    RequestType: "Add",
                    Policies: [
                      {
                        Type: "ACL",
                        Settings: {
                          Action: "Allow",
                          Direction: "In",
                          Protocols: "6",
                          LocalPorts: String(1 + (pick % 60000)),
                        },
                      },
                    ],
                  }),
                )
              : endpointDelete(ep),
          )) ?? restCreate(pick)
        );
      case "restAttachDetach":
        return (await restOne(restAttachDetach, "rest")) ?? restCreate(pick);
      case "restNetwork":
        return restNetwork(pick);
      case "cliCreate":
        return cliCreate();
      case "cliDelete":
        return (await restOne(endpointDelete, "cli")) ?? cliCreate();
      case "cniAdd":
        return cniAdd(pick);
      case "cniDel":
        return (
          (await withOne(
            cni.filter((c) => ledger.fate(`ep:cni-${c.id}`) !== "gone"),
            (c) => c.id,
            pick,
            cniDel,
          )) ?? cniAdd(pick)
        );
      case "docker":
        return dockerStep(pick);
    }
  }

  async function checkHost(afterStart: boolean): Promise<void> {
    checks++;
    const plan = (await d.ok<{ Operations: { Action: string; Object: string }[] }>("GET", "/plan"))
      .Operations;
    if (afterStart)
      findings.planAfterStart.push(...plan.map((op) => `check ${checks}: ${op.Action} ${op.Object}`));
    const store = await storeView(d);
    const found = compare(store, await kernelView(t.host, t.prefix));
    findings.leaked.push(...found.leaked.map((f) => `check ${checks}: ${f}`));
    findings.missing.push(...found.missing.map((f) => `check ${checks}: ${f}`));
    findings.duplicates.push(...found.duplicates.map((f) => `check ${checks}: ${f}`));
    ledger.resolve(present(store));
  }

  /**
   * SQLite's own checks of the state database, read while hostnetd is down (it holds the database
   * exclusively while it runs): as a kill left it, and at the end as a stop left it.
   */
  function checkDatabase(when: string): void {
    const db = new Database(join(d.stateDir, "hostnet.db"), { readonly: true, fileMustExist: true });
    try {
      const integrity = db.pragma("integrity_check", { simple: true });
      if (integrity !== "ok") findings.integrity.push(`${when}: ${String(integrity)}`);
      const foreign = db.pragma("foreign_key_check") as unknown[];
      if (foreign.length > 0) findings.integrity.push(`${when}: ${JSON.stringify(foreign)}`);
    } finally {
      db.close();
    }
  }

  // The networks the doors share, made before the chaos starts.
  await d.ok("POST", "/networks", {
    Name: CHAOS_NETWORK,
    Ipams: [{ Subnets: [{ IpAddressPrefix: "10.80.0.0/16" }] }],
  });
  const pool = await apiRequest(pluginSocket, "POST", "/IpamDriver.RequestPool", {
    AddressSpace: "hostnet-local",
    Pool: DOCKER_POOL,
    SubPool: "",
    V6: false,
  });
  poolId = (pool.body as { PoolID: string }).PoolID;
  const gateway = await apiRequest(pluginSocket, "POST", "/IpamDriver.RequestAddress", {
    PoolID: poolId,
    Address: "",
    Options: { RequestAddressType: "com.docker.network.gateway" },
  });
  dockerNetwork = randomBytes(32).toString("hex");
  const created = await apiRequest(pluginSocket, "POST", "/NetworkDriver.CreateNetwork", {
    NetworkID: dockerNetwork,
    Options: {},
    IPv4Data: [
      {
        AddressSpace: "hostnet-local",
        Pool: DOCKER_POOL,
        Gateway: (gateway.body as { Address: string }).Address,
      },
    ],
    IPv6Data: [],
  });
  if ((created.body as { Err?: string }).Err)
    throw new Error(`CreateNetwork: ${JSON.stringify(created.body)}`);

  const byKind: Record<string, number> = {};
  let next = 0;
  const state = { done: false };
  // A function, so that the check after a wait reads the flag afresh.
  const finished = (): boolean => state.done;
  const restartMs: number[] = [];
  const worker = async (): Promise<void> => {
    for (let op = ops[next++]; op !== undefined; op = ops[next++]) {
      byKind[op.kind] = (byKind[op.kind] ?? 0) + 1;
      const o = await runOne(op.kind, op.pick);
      counts[o.status === "ok" ? "acknowledged" : o.status]++;
    }
  };
  const killer = async (): Promise<void> => {
    for (let i = 0; !finished(); i++) {
      const { after, delayMs } = killAt[i % killAt.length] ?? { after: 1, delayMs: 0 };
      const target = next + after;
      while (!finished() && next < target) await sleep(10);
      await sleep(delayMs);
      if (finished()) return;
      gate.close();
      await d.kill("SIGKILL");
      kills++;
      await gate.drained();
      checkDatabase(`kill ${kills}`);
      const down = performance.now();
      await d.restart();
      restartMs.push(performance.now() - down);
      await checkHost(true);
      opts.progress?.(
        `kill ${kills}: ${next} of ${ops.length} operations begun, restarted in ${Math.round(restartMs.at(-1) ?? 0)} ms`,
      );
      gate.open();
    }
  };
  const killing = killer();
  try {
    // A restart that fails ends the run at once: the workers would wait at the closed gate for ever.
    await Promise.race([
      Promise.all(Array.from({ length: opts.workers ?? 8 }, worker)),
      killing.then(() => new Promise<never>(() => undefined)),
    ]);
  } finally {
    state.done = true;
    next = ops.length;
    gate.open();
  }
  await killing;
  await checkHost(false);
  await d.kill("SIGTERM");
  checkDatabase("stopped");

  return {
    seed: opts.seed,
    operations: ops.length,
    byKind,
    ...counts,
    kills,
    restartMedianMs: Math.round(median(restartMs)),
    checks,
    ...findings,
    lost: ledger.lost,
    duplicates: [...findings.duplicates, ...ledger.duplicates],
    serverErrors: d
      .logs()
      .split("\n")
      .filter((l) => /"level":(50|60)/.test(l)),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

const addressesOfCni = (result: unknown): string[] =>
  ((result as { ips?: { address: string }[] }).ips ?? []).map((ip) => ip.address.split("/")[0] ?? "");

/** The ledger's keys of what the store holds: endpoints and networks by name. */
const present = (store: StoreView): Set<string> =>
  new Set([...store.endpoints.map((e) => `ep:${e.Name}`), ...store.networks.map((n) => `net:${n.Name}`)]);
