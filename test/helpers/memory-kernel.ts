/**
 * An in-memory kernel for unit tests: the `Kernel` the reconciler drives, kept as a Map of objects by
 * identity, so the service and the REST API run without root.
 *
 * It behaves like Linux where the planner relies on it:
 * - deleting an object takes its children along (`parentOf`), transitively; deleting a netns takes
 *   everything inside it and the host end of every veth whose peer lived there; deleting a container
 *   link takes its host veth (a veth pair dies together); deleting a bridge unenslaves its ports;
 * - replacing a veth, vxlan, netns or nft table is a delete and a create, so their children go too;
 * - in strict mode (the default) it refuses what the kernel refuses: creating a link or netns that
 *   exists ("File exists"), creating a child whose parent is missing, enslaving a veth or vxlan to a
 *   missing bridge, deleting or replacing what is not there.
 *
 * An apply is atomic here: a refused apply changes nothing, unless a test asks for one that fails partway
 * (`failPartway`), as Linux's batches of commands do.
 */
import type { NftCounters } from "../../src/dataplane/counters.js";
import {
  noHostFirewalls,
  type FirewallObservation,
  type HostFirewalls,
} from "../../src/dataplane/firewall/exceptions.js";
import { KernelCommandError } from "../../src/dataplane/linux/exec.js";
import { identity, netnsOf, parentOf, type KernelObject, type Kind } from "../../src/dataplane/objects.js";
import { replaceDestroysChildren, type Op } from "../../src/dataplane/plan.js";
import type { Kernel } from "../../src/dataplane/reconciler.js";
import { NETNS_DIR, type Owner } from "../../src/dataplane/naming.js";
import type { Namespace } from "../../src/model/types.js";

export interface MemoryKernelOptions {
  /** Refuse what Linux refuses (see the module comment). Default true. */
  readonly strict?: boolean;
}

export interface Refusal {
  readonly ops: readonly Op[];
  readonly error: unknown;
}

/** The error a refused command gives, shaped like the Linux runner's. */
export function kernelError(stderr: string): KernelCommandError {
  return new KernelCommandError(["memory-kernel"], 2, stderr);
}

/** hostnet's exceptions in other programs' firewalls, which `observeFirewalls` reports instead of `observe`. */
const isFirewallException = (o: KernelObject): boolean =>
  o.kind === "iptablesChain" || o.kind === "iptablesJump" || o.kind === "firewalldInterface";

/** Identities that disappear with `id`, besides `id` itself (not transitive). */
function dependentsOf(state: ReadonlyMap<string, KernelObject>, id: string): string[] {
  const gone = state.get(id);
  const out: string[] = [];
  for (const [childId, o] of state) {
    if (childId === id) continue;
    if (parentOf(o) === id) out.push(childId);
    else if (gone?.kind === "netns") {
      const path = `${NETNS_DIR}/${gone.name}`;
      if (netnsOf(o) === path || (o.kind === "veth" && o.netns === path)) out.push(childId);
    }
  }
  // A veth pair dies together: the container end takes the host end along.
  if (gone?.kind === "containerLink") {
    const hostEnd = parentOf(gone);
    if (hostEnd !== undefined && state.has(hostEnd)) out.push(hostEnd);
  }
  return out;
}

/** Removes `id` and everything that goes with it; a bridge's ports stay, unenslaved. */
function remove(state: Map<string, KernelObject>, id: string): void {
  const pending = [id];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === undefined || !state.has(next)) continue;
    pending.push(...dependentsOf(state, next));
    const o = state.get(next);
    state.delete(next);
    if (o?.kind === "bridge")
      for (const [portId, port] of state)
        if ((port.kind === "veth" || port.kind === "vxlan") && port.master === o.name)
          state.set(portId, { ...port, master: "" });
  }
}

const isLinkOrNetns = (o: KernelObject): boolean =>
  o.kind === "bridge" || o.kind === "veth" || o.kind === "vxlan" || o.kind === "netns";

function checkCreate(state: ReadonlyMap<string, KernelObject>, o: KernelObject): void {
  const id = identity(o);
  if (isLinkOrNetns(o) && state.has(id)) throw kernelError(`RTNETLINK answers: File exists (${id})`);
  const parent = parentOf(o);
  if (parent !== undefined && !state.has(parent))
    throw kernelError(`Cannot find device: ${parent} (creating ${id})`);
  if ((o.kind === "veth" || o.kind === "vxlan") && !state.has(`link:${o.master}`))
    throw kernelError(`Cannot find device "${o.master}" (master of ${o.name})`);
}

/**
 * Applies ops to `state` as the kernel would. Throws, leaving `state` as it was, when strict and an op
 * is one the kernel would refuse.
 */
export function applyOps(state: Map<string, KernelObject>, ops: readonly Op[], strict = true): void {
  const next = new Map(state);
  for (const op of ops) {
    const id = identity(op.object);
    switch (op.action) {
      case "create":
        if (strict) checkCreate(next, op.object);
        next.set(id, op.object);
        break;
      case "replace":
        if (strict && !next.has(identity(op.from)))
          throw kernelError(`cannot replace ${id}: it does not exist`);
        if (replaceDestroysChildren(op.object, op.from)) {
          remove(next, identity(op.from));
          if (strict) checkCreate(next, op.object);
        }
        next.set(id, op.object);
        break;
      case "delete":
        if (strict && !next.has(id)) throw kernelError(`cannot delete ${id}: No such file or directory`);
        remove(next, id);
        break;
    }
  }
  state.clear();
  for (const [k, v] of next) state.set(k, v);
}

export class MemoryKernel implements Kernel {
  /** The kernel's objects by identity. Tests may edit it to simulate drift. */
  readonly objects = new Map<string, KernelObject>();
  /** Every op list that was applied, in order. */
  readonly applied: (readonly Op[])[] = [];
  /** Every op list that was refused, with the error. */
  readonly refused: Refusal[] = [];
  /** How many times the kernel was observed. */
  observations = 0;
  /** The other firewalls of the namespace, as `observeFirewalls` reports them. Tests may change them. */
  firewalls: HostFirewalls = noHostFirewalls;
  /** How many times the firewalls were observed. */
  firewallObservations = 0;
  /** How many times hostnet's nft tables alone were observed. */
  nftObservations = 0;
  private readonly strict: boolean;
  private readonly failures: Error[] = [];
  /** How many ops the next apply makes before it fails, if a test asked for that. */
  private partway: number | undefined;
  private readonly namespaceIds = new Map<string, number>();
  /** Objects applies go on without (a resolver listener whose address:53 another program holds), with why. */
  private readonly cannotMake = new Map<string, string>();
  private readonly unmadeNow = new Map<string, string>();

  constructor(initial: readonly KernelObject[] = [], opts: MemoryKernelOptions = {}) {
    this.strict = opts.strict ?? true;
    for (const o of initial) this.objects.set(identity(o), o);
  }

  /**
   * A namespace deleted behind hostnet's back (`ip netns del`, a runtime's cleanup): what was in it and the
   * veths whose peer was there go with it, as does the namespace hostnet made there, if any.
   */
  namespaceDeleted(path: string): void {
    for (const [id, o] of this.objects)
      if (
        netnsOf(o) === path ||
        (o.kind === "veth" && o.netns === path) ||
        (o.kind === "netns" && `${NETNS_DIR}/${o.name}` === path)
      )
        this.objects.delete(id);
  }

  /** Makes the next `times` applies fail with `error` (changing nothing). */
  failNext(times = 1, error: Error = kernelError("injected failure")): void {
    for (let i = 0; i < times; i++) this.failures.push(error);
  }

  /** Makes the next apply make its first `made` ops and then fail, leaving them made. */
  failPartway(made: number): void {
    this.partway = made;
  }

  /** Makes applies go on without the object `id` (not making it) for `why`, until `makeable(id)`. */
  unmakeable(id: string, why: string): void {
    this.cannotMake.set(id, why);
  }

  makeable(id: string): void {
    this.cannotMake.delete(id);
  }

  unmade(): Map<string, string> {
    return new Map(this.unmadeNow);
  }

  /** Like the Linux kernel: objects inside a namespace are seen only when that namespace is given. */
  async observe(namespaces: readonly Namespace[]): Promise<KernelObject[]> {
    await Promise.resolve();
    this.observations++;
    const paths = new Set(namespaces.map((ns) => ns.path));
    return [...this.objects.values()].filter((o) => {
      const netns = netnsOf(o);
      return !isFirewallException(o) && (netns === null || paths.has(netns));
    });
  }

  async observeNft(): Promise<KernelObject[]> {
    await Promise.resolve();
    this.nftObservations++;
    return [...this.objects.values()].filter(
      (o) => o.kind === "nftTable" || o.kind === "nftElement" || o.kind === "nftSet" || o.kind === "nftChain",
    );
  }

  async observeFirewalls(): Promise<FirewallObservation> {
    await Promise.resolve();
    this.firewallObservations++;
    return { objects: this.list().filter(isFirewallException), host: this.firewalls };
  }

  /**
   * Namespace ids as hostnetd's namespace would have them: one for each namespace a veth's peer lives in,
   * numbered in the order they were first asked for.
   */
  peerNamespaceIds(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const o of this.objects.values())
      if (o.kind === "veth" && o.netns !== null) {
        const id = this.namespaceId(o.netns);
        out.set(id, [...(out.get(id) ?? []), o.name]);
      }
    return Promise.resolve(out);
  }

  /** The id hostnetd's namespace has for the namespace at `path`. */
  namespaceId(path: string): number {
    let id = this.namespaceIds.get(path);
    if (id === undefined) this.namespaceIds.set(path, (id = this.namespaceIds.size));
    return id;
  }

  /** The memory kernel counts no packets. */
  nftCounters(): Promise<NftCounters> {
    return Promise.resolve({ elements: new Map(), chains: new Map() });
  }

  async apply(ops: readonly Op[]): Promise<void> {
    await Promise.resolve();
    const failure = this.failures.shift();
    const partway = this.partway;
    this.partway = undefined;
    try {
      if (failure !== undefined) throw failure;
      if (partway !== undefined) {
        applyOps(this.objects, ops.slice(0, partway), this.strict);
        throw kernelError(`injected failure after ${String(partway)} ops`);
      }
      const made = ops.filter((op) => op.action === "delete" || !this.cannotMake.has(identity(op.object)));
      applyOps(this.objects, made, this.strict);
      for (const op of ops) {
        const id = identity(op.object);
        const why = this.cannotMake.get(id);
        if (why !== undefined && op.action !== "delete") this.unmadeNow.set(id, why);
        else this.unmadeNow.delete(id);
      }
    } catch (error) {
      this.refused.push({ ops, error });
      throw error;
    }
    this.applied.push(ops);
  }

  /** Every object, in insertion order. */
  list(): KernelObject[] {
    return [...this.objects.values()];
  }

  has(id: string): boolean {
    return this.objects.has(id);
  }

  ofKind<K extends Kind>(kind: K): Extract<KernelObject, { kind: K }>[] {
    return this.list().filter((o): o is Extract<KernelObject, { kind: K }> => o.kind === kind);
  }

  ownedBy(owner: Owner): KernelObject[] {
    return this.list().filter((o) => o.owner === owner);
  }

  /** All ops applied so far, flattened. */
  allOps(): Op[] {
    return this.applied.flat();
  }
}
