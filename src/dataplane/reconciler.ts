/**
 * The only path that changes the kernel. Converges are serialised; each plans its scope (the owners a
 * request touched) against the last known kernel state, which a full observation refreshes at start-up,
 * on preview and after any failed apply. A failed apply is retried once against a fresh observation, so a
 * stale cache can never wedge a request; a scope takes in what its objects stand on when the kernel lacks it.
 * Other programs' firewalls change without telling: a converge that touches a network reads them afresh, and
 * plans hostnet's exceptions in them with the network.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import type { Namespace } from "../model/types.js";
import type { Store } from "../store/store.js";
import type { ApplyProgress } from "./apply.js";
import type { NftCounters } from "./counters.js";
import { shortIdOfLink, type Owner } from "./naming.js";
import {
  firewallExceptions,
  noHostFirewalls,
  type FirewallIntegration,
  type FirewallObservation,
  type HostFirewalls,
} from "./firewall/exceptions.js";
import { KnownObjects } from "./known.js";
import { driftOf, type Drift, type RepairScope } from "./drift.js";
import { RepairHolds } from "./holds.js";
import type { Removal } from "./kernel-events.js";
import { identity, netnsOf, prerequisitesOf, type KernelObject } from "./objects.js";
import { madeBy, RecentlyMade } from "./recently-made.js";
import { plan, planYielding, replaceDestroysChildren, type Op, type Plan } from "./plan.js";
import { runYielding, sliceCounter, type Pass } from "./slices.js";
import { StoreView, type Scope } from "./store-view.js";
import { TraceFlows } from "./trace-flows.js";

/** What the reconciler needs of the kernel; the Linux implementation lives in kernel.ts. */
export interface Kernel {
  /**
   * Everything hostnet owns (or once owned) in the kernel but its exceptions in other firewalls, looking
   * inside the namespaces given. `instance`: this hostnetd's, to tell its namespaces from other hostnetds'
   * (Store.instanceId).
   */
  observe(namespaces: readonly Namespace[], instance: string): Promise<KernelObject[]>;
  /** hostnet's nft tables and their elements only: what a doubt about them needs, quicker than `observe`. */
  observeNft(): Promise<KernelObject[]>;
  /** hostnet's exceptions in the other firewalls of its namespace, and what those firewalls are. */
  observeFirewalls(): Promise<FirewallObservation>;
  /** For each namespace id of hostnetd's namespace, the veths whose peer lives there. */
  peerNamespaceIds(): Promise<ReadonlyMap<number, readonly string[]>>;
  apply(ops: readonly Op[], progress?: ApplyProgress): Promise<void>;
  /**
   * What applies asked for and went on without, with why, by identity: hostnetd's resolver listeners whose
   * address:53 another program holds. Not recorded as made, they are tried again by the next converge of
   * their owner and by the periodic check.
   */
  unmade(): ReadonlyMap<string, string>;
  /** What hostnet's nft elements counted, and with `rules` its rules too (counters.ts). */
  nftCounters(rules: boolean): Promise<NftCounters>;
}

/** A scope that names a network (or the exceptions themselves) plans hostnet's firewall exceptions too. */
const widened = (scope: Scope): Scope =>
  scope === "all" || scope.includes("firewall") || !scope.some((o) => o.startsWith("net:"))
    ? scope
    : [...scope, "firewall"];

/** Where a converge takes the kernel's state from: the record, a fresh observation, or one made ahead of the queue. */
type Observation = "record" | "afresh" | ObservedAhead;

/** The kernel as observed outside the queue, the record it began beside, and whose objects that record changed since. */
interface ObservedAhead {
  readonly objects: readonly KernelObject[];
  readonly firewalls: FirewallObservation;
  readonly record: KnownObjects;
  readonly changed: ReadonlySet<Owner>;
  end(): void;
}

export interface ApplyReport {
  readonly ops: number;
  readonly durationMs: number;
}

/** Hears of each converge and repair when it ends, with what it applied (metrics, events). */
export type ConvergeObserver = (
  kind: "converge" | "repair",
  seconds: number,
  ops: readonly Op[],
  failed: boolean,
  outcome: ConvergeOutcome,
) => void;

/** What a converge was for and what failed: its scope and error, or a repair's cause and failed owners. */
type ConvergeOutcome =
  | { readonly kind: "converge"; readonly scope: Scope; readonly error?: unknown }
  | {
      readonly kind: "repair";
      readonly cause: string;
      readonly failures: readonly { readonly owner: Owner; readonly error: unknown }[];
    };

export interface RepairReport {
  readonly repaired: readonly Op[];
  readonly failures: readonly { owner: Owner; error: unknown }[];
}

/**
 * The kernel's monitors report a removal while it is made or soon after, later on a busy host: a removal of
 * an object hostnet made or replaced this recently may be its own, or older than what hostnet made, and the
 * repair observes the kernel rather than trust the record.
 */
const OWN_REMOVALS_MS = 10_000;

const isNft = (o: KernelObject | undefined): boolean =>
  o?.kind === "nftTable" || o?.kind === "nftElement" || o?.kind === "nftSet" || o?.kind === "nftChain";

/**
 * A plan, why a repair would leave some of its ops out now, and why the last attempt at some did not take
 * (both by the identity of their object).
 */
export interface Preview extends Plan {
  readonly heldBack: ReadonlyMap<string, string>;
  readonly unmade: ReadonlyMap<string, string>;
}

export class Reconciler {
  private known: KnownObjects | undefined;
  /**
   * Owners of objects that cannot name theirs (routing rules, DSR routes), as the record had them or a failed
   * apply was making them when it stopped. The next observation adopts them by these: once a failed write is
   * undone the store wants them no more, and only their owner's converge removes them.
   */
  private ownersBeforeFailure = new Map<string, Owner>();
  /** The other firewalls as last observed, which decide where hostnet's exceptions go. */
  private hostFirewalls: HostFirewalls = noHostFirewalls;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Owners whose write is waiting for its converge, how many times: the store has the write already, and a
   * repair planned before it would make the write's objects and call them drift.
   */
  private readonly converging = new Map<Owner, number>();
  /** Container namespaces by their id in hostnetd's namespace, as last looked up. */
  private namespaceIds = new Map<number, string>();
  /** What hostnet's own applies made or made again, with when they ended. */
  private readonly made = new RecentlyMade(OWN_REMOVALS_MS);

  private readonly wanted: StoreView;
  /** The flows traces follow now: `converge(["trace"])` after a change puts them in the kernel. */
  readonly traces = new TraceFlows();

  constructor(
    private readonly store: Store,
    private readonly kernel: Kernel,
    private readonly log: Logger,
    private readonly firewallIntegration: FirewallIntegration = "auto",
    private readonly holds: RepairHolds = new RepairHolds(),
    private readonly observe: ConvergeObserver = () => undefined,
  ) {
    this.wanted = new StoreView(
      store,
      () => this.firewallObjects(),
      () => this.traces.objects(),
    );
  }

  /**
   * Makes the kernel match the store for `scope`; a write to owners ends their objects' repair holds.
   * `progress` hears how far the apply has gone.
   */
  converge(scope: Scope, progress?: ApplyProgress): Promise<ApplyReport> {
    if (scope === "all") return this.convergeNow(scope, progress);
    this.holds.release(scope);
    for (const owner of scope) this.converging.set(owner, (this.converging.get(owner) ?? 0) + 1);
    return this.convergeNow(scope, progress).finally(() => {
      for (const owner of scope) {
        const n = (this.converging.get(owner) ?? 1) - 1;
        if (n === 0) this.converging.delete(owner);
        else this.converging.set(owner, n);
      }
    });
  }

  private convergeNow(scope: Scope, progress?: ApplyProgress): Promise<ApplyReport> {
    return this.serialised(async () => {
      const started = performance.now();
      const seconds = (): number => (performance.now() - started) / 1000;
      let ops: readonly Op[];
      try {
        ops = await this.convergeOnce(scope, "record", undefined, progress);
      } catch (err) {
        this.log.warn({ op: "converge", scope, err }, "apply failed; retrying against a fresh observation");
        try {
          ops = await this.convergeOnce(scope, "afresh", undefined, progress);
        } catch (retryErr) {
          this.observe("converge", seconds(), [], true, { kind: "converge", scope, error: retryErr });
          throw retryErr;
        }
      }
      this.observe("converge", seconds(), ops, false, { kind: "converge", scope });
      const report = { ops: ops.length, durationMs: Math.round(seconds() * 100000) / 100 };
      this.log.info({ op: "converge", scope, ...report }, "converged");
      return report;
    });
  }

  /**
   * A full converge that one broken object cannot block: if converging everything at once fails (say an
   * adopted namespace vanished with its container), each owner is converged on its own and the failures
   * are returned, so every other network and endpoint is still brought in line.
   */
  async convergeAll(
    progress?: ApplyProgress,
  ): Promise<{ report: ApplyReport; failures: { owner: Owner; error: unknown }[] }> {
    try {
      return { report: await this.converge("all", progress), failures: [] };
    } catch (err) {
      this.log.warn({ op: "converge", scope: "all", err }, "full converge failed; converging owner by owner");
    }
    const started = performance.now();
    const owners = await this.serialised(async () => {
      await this.refresh();
      const all = [...this.wanted.desired("all"), ...this.observed("all")].map((o) => o.owner);
      return [...new Set(all)];
    });
    const failures: { owner: Owner; error: unknown }[] = [];
    let ops = 0;
    for (const owner of owners) {
      try {
        ops += (await this.converge([owner])).ops;
      } catch (error) {
        failures.push({ owner, error });
        this.log.error({ op: "converge", scope: [owner], err: error }, "could not converge");
      }
    }
    return { report: { ops, durationMs: Math.round(performance.now() - started) }, failures };
  }

  /** Counters are read, never planned: they are not state hostnet wants, just what the kernel counted. */
  nftCounters(rules: boolean): Promise<NftCounters> {
    return this.kernel.nftCounters(rules);
  }

  /** The plan a full converge would apply now, from a fresh observation; changes nothing. */
  preview(): Promise<Preview> {
    return this.serialised(async () => {
      await this.refresh();
      const { ops } = plan(this.wanted.desired("all"), this.observed("all"));
      return { ops, heldBack: this.holds.heldBack(ops), unmade: this.kernel.unmade() };
    });
  }

  /**
   * Of removals the monitors reported, those that took an object the record says the kernel has. It runs
   * after every converge begun before it, so what hostnet's own applies deleted is out of the record already;
   * what they made or replaced within `OWN_REMOVALS_MS` before (or after) may be their own removal, one they
   * already repaired (a periodic check that ran first) or another's (`nft flush ruleset` right after a
   * repair), which the repair tells by observing the kernel.
   * `seenAt`: when the monitors reported the removals.
   */
  drifted(removals: readonly Removal[], seenAt = performance.now()): Promise<Drift> {
    return this.serialised(async () => {
      const paths = await this.namespacePaths(removals);
      return driftOf(removals, this.known, {
        pathOf: (r) => ("where" in r && r.where !== null ? paths.get(r.where) : undefined),
        ifnamesIn: (path) => this.wanted.ifnamesIn(path),
        inDoubt: (id) => this.made.before(id, seenAt),
      });
    });
  }

  /**
   * A namespace deleted under hostnet took what was in it and the veths whose peer was there: the record
   * forgets them, so that the next plan does not delete what is gone (which fails the whole batch).
   */
  namespaceGone(ns: { readonly id: string; readonly path: string }): Promise<void> {
    return this.serialised(() => {
      const known = this.known;
      const took = (o: KernelObject): boolean =>
        netnsOf(o) === ns.path ||
        (o.kind === "veth" && o.netns === ns.path) ||
        (o.kind === "netns" && o.owner === `ns:${ns.id}`);
      for (const o of known?.all() ?? []) if (took(o)) known?.forget(identity(o), true);
      return Promise.resolve();
    });
  }

  /**
   * Repairs drift: the record forgets what the monitors reported lost (and what the kernel took along), or
   * is observed afresh for the periodic check and for removals that may be hostnet's own (its nft tables
   * only, when only they are in doubt), and what a full converge would apply is applied, except what is held
   * back. If that fails, each owner is repaired on its own against a fresh observation.
   */
  async repair(cause: string, drift: RepairScope): Promise<RepairReport> {
    // Joins the queue once it has read the kernel, so that writes go on while it reads.
    const ahead = drift === "all" ? await this.observeAhead() : undefined;
    return this.serialised(async () => {
      try {
        return await this.repairNow(cause, drift, ahead);
      } finally {
        ahead?.end();
      }
    });
  }

  /** `ahead`: the kernel as observed outside the queue for it, if it was. */
  private async repairNow(
    cause: string,
    drift: RepairScope,
    ahead: ObservedAhead | undefined,
  ): Promise<RepairReport> {
    const started = performance.now();
    // Observed afresh by the converge itself, which then derives the store's wants once for both.
    let observation: Observation = "record";
    if (drift === "all") observation = ahead ?? "afresh";
    else if (drift.observe === "all" || this.known === undefined) observation = "afresh";
    else if (drift.observe === "nft") {
      await this.refreshNft();
      const known = this.known;
      for (const id of drift.lost) if (!isNft(known.get(id))) known.lost(id);
    } else {
      for (const id of drift.lost) this.known.lost(id);
      for (const id of drift.damaged ?? []) {
        const table = this.known.get(id);
        // Rules not counted (-1) differ from the skeleton's: the plan replaces the table.
        if (table?.kind === "nftTable") this.known.set({ ...table, rules: -1 });
      }
    }
    let tried: readonly Op[] = [];
    const planned = new Set<string>();
    const admit = (all: readonly Op[]): readonly Op[] => {
      // What a waiting write is about to converge is the write's, not drift.
      const ops = all.filter((op) => !this.converging.has(op.object.owner));
      for (const op of ops) planned.add(identity(op.object));
      const { apply, begun } = this.holds.admit(ops);
      if (begun.length > 0)
        this.log.warn(
          { op: "repair", cause, heldBack: begun },
          "held back: repaired too often, something else keeps changing it",
        );
      tried = apply;
      return apply;
    };
    const repaired: Op[] = [];
    const failures: { owner: Owner; error: unknown }[] = [];
    try {
      repaired.push(...(await this.convergeOnce("all", observation, admit)));
    } catch (err) {
      this.log.warn({ op: "repair", cause, err }, "repair failed; repairing owner by owner");
      const failed = tried;
      planned.clear();
      await this.refresh();
      const owners = new Set([...this.wanted.desired("all"), ...this.observed("all")].map((o) => o.owner));
      for (const owner of owners)
        try {
          repaired.push(...(await this.convergeOnce([owner], "record", admit)));
        } catch (error) {
          failures.push({ owner, error });
          this.log.error({ op: "repair", cause, scope: [owner], err: error }, "could not repair");
        }
      // What the failed apply made before it stopped is planned no more; it was repaired all the same, and
      // counts towards its hold. An owner whose retry failed may not have been planned at all.
      const unsure = new Set(failures.map((f) => f.owner));
      repaired.push(
        ...failed.filter((op) => !planned.has(identity(op.object)) && !unsure.has(op.object.owner)),
      );
    }
    this.holds.repaired(repaired);
    this.observe("repair", (performance.now() - started) / 1000, repaired, failures.length > 0, {
      kind: "repair",
      cause,
      failures,
    });
    if (repaired.length > 0)
      this.log.info(
        {
          op: "repair",
          cause,
          repaired: repaired.map((o) => ({
            action: o.action,
            kind: o.object.kind,
            identity: identity(o.object),
            owner: o.object.owner,
          })),
          durationMs: Math.round(performance.now() - started),
        },
        "repaired drift",
      );
    return { repaired, failures };
  }

  /**
   * Observes the kernel without waiting for the queue: a full check at 10,000 load balancers reads for
   * seconds, and writes go on meanwhile. The record notes whose objects they change, which the check then
   * takes from the record rather than from the observation. Undefined without a record or if the kernel
   * could not be read (the check observes in the queue then).
   */
  private async observeAhead(): Promise<ObservedAhead | undefined> {
    const record = this.known;
    if (record === undefined) return undefined;
    const journal = record.journal();
    try {
      const [objects, firewalls] = await Promise.all([
        this.kernel.observe(this.wanted.namespacesInUse(), this.store.meta.instanceId()),
        this.observeFirewalls(),
      ]);
      return { objects, firewalls, record, ...journal };
    } catch (err) {
      journal.end();
      this.log.debug({ op: "repair", err }, "could not observe ahead of the queue; observing in it");
      return undefined;
    }
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * `admit`: the ops of the plan to apply (a repair leaves out what is held back). Returns the ops applied
   * but those the kernel went on without.
   */
  private async convergeOnce(
    requested: Scope,
    observation: Observation,
    admit: (ops: readonly Op[]) => readonly Op[] = (ops) => ops,
    progress?: ApplyProgress,
  ): Promise<readonly Op[]> {
    const withFirewall = this.firewallIntegration === "auto" ? widened(requested) : requested;
    // Derived once: a full converge that observes adopts from the same objects it plans.
    const fromStore = requested === "all" ? this.wanted.fromStore() : undefined;
    if (observation !== "record" || this.known === undefined)
      await this.refresh(
        fromStore,
        observation === "afresh" || observation === "record" ? undefined : observation,
      );
    else if (withFirewall !== requested) await this.refreshFirewalls();
    const scope = this.withNamespaces(withFirewall);
    const { owners, desired } =
      scope === "all"
        ? {
            owners: scope,
            desired: (fromStore ?? this.wanted.fromStore()).concat(
              this.firewallObjects(),
              this.traces.objects(),
            ),
          }
        : await this.withMissingPrerequisites(scope);
    // A large scope (a load balancer's 65,536 elements) would take the event loop for a while at each step:
    // each goes in slices, and the API answers in between.
    await yieldToEventLoop();
    let { ops } = await planYielding(desired, this.observed(owners));
    // Re-creating the nft table drops every owner's elements: such a plan must cover every owner.
    if (scope !== "all" && ops.some((op) => op.object.kind === "nftTable" && op.action !== "delete"))
      ({ ops } = plan(this.wanted.desired("all"), this.observed("all")));
    ops = admit(ops);
    if (ops.length === 0) return ops;
    await yieldToEventLoop();
    try {
      await this.kernel.apply(ops, progress);
    } catch (err) {
      this.forgetRecord(ops);
      throw err;
    }
    const known = this.known ?? new KnownObjects();
    const unmade = this.unmadeBy(ops);
    const done = unmade.size === 0 ? ops : ops.filter((op) => !unmade.has(identity(op.object)));
    await runYielding(this.recording(known, ops, done, performance.now()));
    this.known = known;
    return done;
  }

  /**
   * The record after an apply of `ops` that ended `now`: what `done` made is known and recently made, what
   * `ops` deleted or took along is not.
   */
  private *recording(known: KnownObjects, ops: readonly Op[], done: readonly Op[], now: number): Pass<void> {
    const due = sliceCounter();
    for (const op of done) {
      this.made.add(madeBy(op, known), now);
      if (due()) yield;
    }
    for (const op of ops) {
      known.forget(
        identity(op.object),
        op.action === "delete" || (op.action === "replace" && replaceDestroysChildren(op.object, op.from)),
      );
      if (due()) yield;
    }
    for (const op of done) {
      if (op.action !== "delete") known.set(op.object);
      if (due()) yield;
    }
  }

  /** The objects `ops` made or replaced that the kernel went on without, logged with why, by identity. */
  private unmadeBy(ops: readonly Op[]): ReadonlySet<string> {
    const why = this.kernel.unmade();
    if (why.size === 0) return new Set();
    const unmade = ops.filter((op) => op.action !== "delete" && why.has(identity(op.object)));
    if (unmade.length > 0)
      this.log.warn(
        {
          op: "converge",
          unmade: unmade.map((op) => ({
            identity: identity(op.object),
            owner: op.object.owner,
            why: why.get(identity(op.object)),
          })),
        },
        "not made; tried again by the next converge of its owner and by the periodic check",
      );
    return new Set(unmade.map((op) => identity(op.object)));
  }

  /**
   * The scope, and the namespaces its endpoints are attached to or were, as the record has their container
   * ends: a namespace's resolv.conf says what its endpoints' DNS settings say.
   */
  private withNamespaces(scope: Scope): Scope {
    if (scope === "all") return scope;
    const namespaces = new Set<Owner>();
    for (const owner of scope) {
      if (!owner.startsWith("ep:")) continue;
      const attachment = this.store.endpoints.find(owner.slice(3))?.attachment;
      if (attachment?.kind === "namespace") namespaces.add(`ns:${attachment.namespaceId}`);
      for (const o of this.known?.ofOwners([owner]) ?? []) {
        const ns = o.kind === "containerLink" ? this.store.namespaces.find(o.netns) : undefined;
        if (ns !== undefined) namespaces.add(`ns:${ns.id}`);
      }
    }
    const added = [...namespaces].filter((o) => !scope.includes(o));
    return added.length === 0 ? scope : [...scope, ...added];
  }

  /**
   * The scope, and the owners of what its objects stand on that the kernel lacks (a flushed nft table, a
   * deleted bridge or namespace): a write heals what it needs instead of failing on it.
   */
  private async withMissingPrerequisites(
    scope: readonly Owner[],
  ): Promise<{ owners: Owner[]; desired: KernelObject[] }> {
    const owners = [...scope];
    const desired = this.wanted.desired(scope);
    const missing = await runYielding(this.missingPrerequisites(desired));
    if (missing.size === 0) return { owners, desired };
    for (const owner of new Set(scope.flatMap((o) => this.wanted.standsOn(o)))) {
      const theirs = owners.includes(owner) ? [] : this.wanted.desiredOf(owner);
      if (!theirs.some((o) => missing.has(identity(o)))) continue;
      owners.push(owner);
      desired.push(...theirs);
    }
    return { owners, desired };
  }

  /** `fromStore`: what the store wants now, if the caller has it already. */
  /** The identities of what `desired` stands on that neither it nor the record has. */
  private *missingPrerequisites(desired: readonly KernelObject[]): Pass<Set<string>> {
    const due = sliceCounter();
    const ids = new Set<string>();
    for (const o of desired) {
      ids.add(identity(o));
      if (due()) yield;
    }
    const missing = new Set<string>();
    for (const o of desired) {
      for (const id of prerequisitesOf(o))
        if (!ids.has(id) && this.known?.get(id) === undefined) missing.add(id);
      if (due()) yield;
    }
    return missing;
  }

  /** After a failed apply of `ops` the record is unsure: it is dropped, but who owns what cannot say so. */
  private forgetRecord(ops: readonly Op[]): void {
    const ownerless = [...(this.known?.all() ?? []), ...ops.map((op) => op.object)].filter(carriesNoOwner);
    for (const o of ownerless) if (o.owner !== "orphan") this.ownersBeforeFailure.set(identity(o), o.owner);
    this.known = undefined;
  }

  /**
   * A fresh record from the kernel, or from what `ahead` observed if the record is still the one it began
   * beside: the owners whose record changed since keep the record's objects, newer than the observation.
   */
  private async refresh(fromStore?: readonly KernelObject[], ahead?: ObservedAhead): Promise<void> {
    const current = ahead !== undefined && ahead.record === this.known ? ahead : undefined;
    const [observed, firewalls] =
      current === undefined
        ? await Promise.all([
            this.kernel.observe(this.wanted.namespacesInUse(), this.store.meta.instanceId()),
            this.observeFirewalls(),
          ])
        : [current.objects, current.firewalls];
    const known = new KnownObjects([
      ...this.adopted(observed, fromStore ?? this.wanted.fromStore()),
      ...firewalls.objects,
    ]);
    if (current !== undefined && current.changed.size > 0) {
      current.end();
      // An object a write was making as the kernel was read may have looked like nobody's; an orphan is
      // removed by a check no write overlapped.
      const changed = [...current.changed, "orphan" as const];
      for (const o of known.ofOwners(changed)) known.forget(identity(o), false);
      for (const o of current.record.ofOwners(changed)) known.set(o);
    }
    if (!current?.changed.has("firewall")) this.hostFirewalls = firewalls.host;
    this.known = known;
  }

  /** Replaces the record's nft tables and elements with a fresh observation of them. */
  private async refreshNft(): Promise<void> {
    const observed = await this.kernel.observeNft();
    const known = this.known ?? new KnownObjects();
    for (const o of known.all()) if (isNft(o)) known.forget(identity(o), false);
    for (const o of observed) known.set(o);
    this.known = known;
  }

  /** With the integration off, hostnet looks at no other firewall: it has nothing there to plan. */
  private observeFirewalls(): Promise<FirewallObservation> {
    return this.firewallIntegration === "auto"
      ? this.kernel.observeFirewalls()
      : Promise.resolve({ objects: [], host: noHostFirewalls });
  }

  /** Replaces the record's firewall exceptions, and what the firewalls are, with a fresh observation. */
  private async refreshFirewalls(): Promise<void> {
    const { objects, host } = await this.observeFirewalls();
    this.hostFirewalls = host;
    const known = this.known ?? new KnownObjects();
    for (const o of known.ofOwners(["firewall"])) known.forget(identity(o), false);
    for (const o of objects) known.set(o);
    this.known = known;
  }

  /** The exceptions hostnet wants in the other firewalls: while it has a network, none otherwise. */
  private firewallObjects(): KernelObject[] {
    return this.store.networks.all().length > 0 ? firewallExceptions(this.hostFirewalls) : [];
  }

  /** Observed objects, the store's (or, after a failed apply, their owner's then) where their kind cannot name an owner. */
  private adopted(observed: readonly KernelObject[], fromStore: readonly KernelObject[]): KernelObject[] {
    const owners = new Map(this.ownersBeforeFailure);
    this.ownersBeforeFailure.clear();
    for (const o of fromStore) if (carriesNoOwner(o)) owners.set(identity(o), o.owner);
    return observed.map((o) => adopt(o, owners));
  }

  /** The paths of the store's namespaces the removals happened in, by their ids in hostnetd's namespace. */
  private async namespacePaths(removals: readonly Removal[]): Promise<ReadonlyMap<number, string>> {
    // A namespace id is freed with its namespace (and its veths): a deleted link may make any of them stale.
    if (removals.some((r) => r.kind === "link" && r.where === null)) this.namespaceIds.clear();
    const ids = removals.flatMap((r) => ("where" in r && r.where !== null ? [r.where] : []));
    if (ids.every((id) => this.namespaceIds.has(id))) return this.namespaceIds;
    const endpoints = new Map(this.store.endpoints.all().map((ep) => [ep.shortId, ep]));
    this.namespaceIds = new Map();
    for (const [id, links] of await this.kernel.peerNamespaceIds())
      for (const link of links) {
        const attachment = endpoints.get(shortIdOfLink(link) ?? "")?.attachment;
        if (attachment?.kind !== "namespace") continue;
        const ns = this.store.namespaces.find(attachment.namespaceId);
        if (ns !== undefined) this.namespaceIds.set(id, ns.path);
        break;
      }
    return this.namespaceIds;
  }

  private observed(scope: Scope): KernelObject[] {
    if (this.known === undefined) return [];
    return scope === "all" ? this.known.all() : this.known.ofOwners(scope);
  }
}

/**
 * Kernel objects that cannot name their owner: DSR routes, a DSR VIP on a backend's lo (lo's alias marks the
 * namespace), FDB and neighbour entries of overlay peers, routing rules. Observation reports them as orphans.
 */
const carriesNoOwner = (o: KernelObject): boolean =>
  o.kind === "vipRoute" ||
  o.kind === "overlayPeer" ||
  o.kind === "routeRule" ||
  (o.kind === "address" && o.dev === "lo");

/** Such an orphan is its owner's if it is known; the rest stays an orphan, for a full converge to remove. */
function adopt(o: KernelObject, owners: ReadonlyMap<string, Owner>): KernelObject {
  if (o.owner !== "orphan" || !carriesNoOwner(o)) return o;
  const owner = owners.get(identity(o));
  return owner === undefined ? o : { ...o, owner };
}
