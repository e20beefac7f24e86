/**
 * Plans are data: a pure function from (desired, observed) kernel objects to the ordered operations that
 * make the kernel match, with deletes children-first and creates parents-first.
 */
import { identity, parentOf, sameState, type KernelObject } from "./objects.js";
import { runThrough, runYielding, sliceCounter, type Pass } from "./slices.js";

export type Op =
  | { readonly action: "create"; readonly object: KernelObject }
  | { readonly action: "replace"; readonly from: KernelObject; readonly object: KernelObject }
  | { readonly action: "delete"; readonly object: KernelObject };

export interface Plan {
  readonly ops: readonly Op[];
}

/**
 * Whether replacing `from` by `to` deletes and re-creates it, taking its children along. A veth whose MTU
 * stays is changed in place (enslaved again after its bridge was re-created, say), so its container end
 * stays, also one a runtime moved into its sandbox.
 */
export function replaceDestroysChildren(to: KernelObject, from: KernelObject): boolean {
  if (to.kind === "veth") return from.kind !== "veth" || from.mtu !== to.mtu;
  return to.kind === "vxlan" || to.kind === "nftTable";
}

function rank(o: KernelObject): number {
  switch (o.kind) {
    case "netns":
      return 0;
    case "nftTable":
    case "iptablesChain":
    case "firewalldInterface":
      return 1;
    case "sysctl":
      return /^net\/ipv[46]\/conf\/(?!all\/|default\/)/.test(o.key) ? 4 : 1;
    // After hostnet's chain is made, before it is removed: iptables refuses to remove a chain jumped to.
    case "iptablesJump":
    case "bridge":
      return 2;
    case "address":
      return o.netns === null ? 3 : 6;
    case "veth":
    case "ifb":
    case "vxlan":
    case "uplinkPort":
      return 4;
    case "shaper":
    case "ingressRedirect":
    case "portVlan":
      return 5;
    case "containerLink":
      return 5;
    case "route":
    case "routeRule":
    case "hostRoute":
    case "vipRoute":
    case "overlayPeer":
      return 7;
    // One transaction, ordered by its own phases (render/nft.ts).
    case "nftSet":
    case "nftChain":
    case "nftElement":
      return 8;
    case "loopbackProxy":
    case "resolvConf":
    case "dnsListener":
      return 9;
  }
}

/** Objects by identity, without a pair per object on the way (a plan may hold a hundred thousand). */
function* byIdentity(objects: readonly KernelObject[], due: () => boolean): Pass<Map<string, KernelObject>> {
  const out = new Map<string, KernelObject>();
  for (const o of objects) {
    out.set(identity(o), o);
    if (due()) yield;
  }
  return out;
}

export function plan(desired: readonly KernelObject[], observed: readonly KernelObject[]): Plan {
  return runThrough(planning(desired, observed));
}

/** plan, letting the event loop run between slices of objects. */
export function planYielding(
  desired: readonly KernelObject[],
  observed: readonly KernelObject[],
): Promise<Plan> {
  return runYielding(planning(desired, observed));
}

function* planning(desired: readonly KernelObject[], observed: readonly KernelObject[]): Pass<Plan> {
  const due = sliceCounter();
  const want = yield* byIdentity(desired, due);
  const have = yield* byIdentity(observed, due);

  /**
   * Whether desired `d` must be built from nothing: it is missing (`o`, as observed), it is replaced by
   * deleting and re-creating it, or its parent is rebuilt (the old parent took it along).
   */
  const mustBuild = (d: KernelObject, o: KernelObject | undefined, same: boolean): boolean => {
    const parent = parentOf(d);
    return (
      o === undefined || (!same && replaceDestroysChildren(d, o)) || (parent !== undefined && rebuilt(parent))
    );
  };
  // Only parents are asked about by identity, and they are few (tables, links): the memo stays small.
  const memo = new Map<string, boolean>();
  const rebuilt = (id: string): boolean => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const d = want.get(id);
    const o = have.get(id);
    const result = d !== undefined && mustBuild(d, o, o !== undefined && sameState(d, o));
    memo.set(id, result);
    return result;
  };
  /**
   * Whether the parent `id` is absent or disappears during the plan, taking its children with it. A parent
   * neither observed nor desired lies outside a scoped plan and stays as it is.
   */
  const goes = (id: string | undefined): boolean => {
    if (id === undefined) return false;
    return have.has(id) ? !want.has(id) || rebuilt(id) : want.has(id);
  };

  const deletes: Op[] = [];
  for (const [id, o] of have) {
    if (!want.has(id) && !goes(parentOf(o))) deletes.push({ action: "delete", object: o });
    if (due()) yield;
  }

  const upserts: Op[] = [];
  for (const [id, d] of want) {
    const o = have.get(id);
    const same = o !== undefined && sameState(d, o);
    if (o !== undefined && !same && !goes(parentOf(d)))
      upserts.push({ action: "replace", from: o, object: d });
    else if (mustBuild(d, o, same)) upserts.push({ action: "create", object: d });
    if (due()) yield;
  }
  deletes.sort((a, b) => rank(b.object) - rank(a.object));
  upserts.sort((a, b) => rank(a.object) - rank(b.object));
  return { ops: [...deletes, ...upserts] };
}
