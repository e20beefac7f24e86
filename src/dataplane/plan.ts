/**
 * Plans are data: a pure function from (desired, observed) kernel objects to the ordered operations that
 * make the kernel match, with deletes children-first and creates parents-first.
 */
import { identity, parentOf, sameState, type KernelObject } from "./objects.js";

export type Op =
  | { readonly action: "create"; readonly object: KernelObject }
  | { readonly action: "replace"; readonly from: KernelObject; readonly object: KernelObject }
  | { readonly action: "delete"; readonly object: KernelObject };

export interface Plan {
  readonly ops: readonly Op[];
}

/** Replacing these deletes and re-creates them, taking their children along. */
function replaceDestroysChildren(o: KernelObject): boolean {
  return o.kind === "veth" || o.kind === "nftTable" || o.kind === "netns";
}

function rank(o: KernelObject): number {
  switch (o.kind) {
    case "netns":
      return 0;
    case "nftTable":
      return 1;
    case "sysctl":
      return o.key.startsWith("net/ipv4/conf/") ? 4 : 1;
    case "bridge":
      return 2;
    case "address":
      return o.netns === null ? 3 : 6;
    case "veth":
      return 4;
    case "containerLink":
      return 5;
    case "route":
      return 7;
    case "nftElement":
      return 8;
    case "loopbackProxy":
      return 9;
  }
}

export function plan(desired: readonly KernelObject[], observed: readonly KernelObject[]): Plan {
  const want = new Map(desired.map((o) => [identity(o), o]));
  const have = new Map(observed.map((o) => [identity(o), o]));
  const replaced = new Set<string>();
  const created = new Set<string>();
  const deleted = new Set<string>();

  for (const [id, d] of want) {
    const o = have.get(id);
    if (o === undefined) created.add(id);
    else if (!sameState(d, o)) replaced.add(id);
  }
  for (const id of have.keys()) if (!want.has(id)) deleted.add(id);

  const gone = (id: string | undefined): boolean => {
    if (id === undefined) return false;
    const o = have.get(id);
    return (
      deleted.has(id) ||
      created.has(id) ||
      (replaced.has(id) && o !== undefined && replaceDestroysChildren(o))
    );
  };

  const deletes: Op[] = [];
  for (const [id, o] of have)
    if (deleted.has(id) && !gone(parentOf(o))) deletes.push({ action: "delete", object: o });
  const upserts: Op[] = [];
  for (const [id, d] of want) {
    const o = have.get(id);
    const parentGone = gone(parentOf(d));
    if (o === undefined || (parentGone && !created.has(id))) upserts.push({ action: "create", object: d });
    else if (replaced.has(id)) upserts.push({ action: "replace", from: o, object: d });
  }
  deletes.sort((a, b) => rank(b.object) - rank(a.object));
  upserts.sort((a, b) => rank(a.object) - rank(b.object));
  return { ops: [...deletes, ...upserts] };
}
