/**
 * The reconciler's record of what the kernel holds, indexed by owner and by parent so that a scoped
 * converge costs the same with ten endpoints as with a thousand.
 */
import type { Owner } from "./naming.js";
import { identity, parentOf, type KernelObject } from "./objects.js";

export class KnownObjects {
  private readonly byId = new Map<string, KernelObject>();
  private readonly byOwner = new Map<Owner, Set<string>>();
  private readonly children = new Map<string, Set<string>>();
  /** Journals begun and not ended: each gathers the owners whose objects changed since it began. */
  private readonly journals = new Set<Set<Owner>>();

  constructor(objects: Iterable<KernelObject> = []) {
    for (const o of objects) this.set(o);
  }

  all(): KernelObject[] {
    return [...this.byId.values()];
  }

  get(id: string): KernelObject | undefined {
    return this.byId.get(id);
  }

  ofOwners(owners: readonly Owner[]): KernelObject[] {
    return [...new Set(owners)].flatMap((owner) =>
      [...(this.byOwner.get(owner) ?? [])].flatMap((id) => this.byId.get(id) ?? []),
    );
  }

  /**
   * Begins noting whose objects change, for an observation made outside the reconciler's queue: what it
   * saw of these owners is older than the record. `end` stops the noting.
   */
  journal(): { readonly changed: ReadonlySet<Owner>; end(): void } {
    const changed = new Set<Owner>();
    this.journals.add(changed);
    return { changed, end: () => this.journals.delete(changed) };
  }

  set(o: KernelObject): void {
    const id = identity(o);
    this.unindex(id);
    this.noteChange(o.owner);
    this.byId.set(id, o);
    index(this.byOwner, o.owner, id);
    const parent = parentOf(o);
    if (parent !== undefined) index(this.children, parent, id);
  }

  /** Forgets an object and, when it took them along in the kernel, its descendants. */
  forget(id: string, withDescendants: boolean): void {
    for (const each of withDescendants ? this.descendants(id) : [id]) this.unindex(each);
  }

  /**
   * What the kernel does when an object is removed under hostnet: its descendants go with it, and a bridge
   * releases its ports (they stay, out of any bridge). Returns the identities it forgot.
   */
  lost(id: string): string[] {
    const o = this.byId.get(id);
    if (o === undefined) return [];
    const gone = this.descendants(id);
    for (const each of gone) this.unindex(each);
    if (o.kind === "bridge")
      for (const port of [...this.byId.values()])
        if ((port.kind === "veth" || port.kind === "vxlan") && port.master === o.name)
          this.set({ ...port, master: "" });
    return gone;
  }

  /** An object and every object below it, deepest last. */
  descendants(id: string): string[] {
    return [id, ...[...(this.children.get(id) ?? [])].flatMap((child) => this.descendants(child))];
  }

  private unindex(id: string): void {
    const old = this.byId.get(id);
    if (old === undefined) return;
    this.noteChange(old.owner);
    this.byId.delete(id);
    unindex(this.byOwner, old.owner, id);
    const parent = parentOf(old);
    if (parent !== undefined) unindex(this.children, parent, id);
  }

  private noteChange(owner: Owner): void {
    for (const changed of this.journals) changed.add(owner);
  }
}

function index<K>(map: Map<K, Set<string>>, key: K, id: string): void {
  let ids = map.get(key);
  if (ids === undefined) map.set(key, (ids = new Set()));
  ids.add(id);
}

function unindex<K>(map: Map<K, Set<string>>, key: K, id: string): void {
  const ids = map.get(key);
  ids?.delete(id);
  if (ids?.size === 0) map.delete(key);
}
