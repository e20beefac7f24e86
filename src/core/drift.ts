/**
 * Drift the watcher found, repaired through the core: namespaces that vanished under hostnet first (their
 * endpoints are detached, not re-created), then whatever else the kernel lost.
 */
import type { RepairScope } from "../dataplane/drift.js";
import type { RepairReport } from "../dataplane/reconciler.js";
import type { Endpoint, Namespace } from "../model/types.js";
import type { Core } from "./context.js";
import { namespaceVanished } from "./namespaces.js";

export interface VanishedNamespace {
  readonly namespace: Namespace;
  readonly detached: readonly Endpoint[];
}

/**
 * The store's namespaces whose file is gone, each handled by namespaceVanished; not those being made, whose
 * file is not there yet.
 */
export async function vanishedNamespaces(core: Core): Promise<VanishedNamespace[]> {
  const gone = core.store.namespaces
    .all()
    .filter(
      (ns) =>
        !core.namespacesInMaking.has(ns.id) &&
        core.host.namespaceAt(ns.path) === "missing" &&
        (ns.owned || core.store.endpoints.all({ namespaceId: ns.id }).length > 0),
    );
  const out: VanishedNamespace[] = [];
  for (const namespace of gone)
    out.push({ namespace, detached: await namespaceVanished(core, namespace.id) });
  return out;
}

export async function repairDrift(
  core: Core,
  cause: string,
  drift: RepairScope,
): Promise<{ vanished: VanishedNamespace[]; report: RepairReport }> {
  const vanished = await vanishedNamespaces(core);
  return { vanished, report: await core.reconciler.repair(cause, drift) };
}
