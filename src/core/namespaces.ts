/**
 * Namespaces endpoints attach to: one hostnet makes under /run/netns (and deletes again), or one a runtime
 * hands in by its path (adopted: hostnet never deletes it).
 */
import { randomUUID } from "node:crypto";
import { NETNS_DIR } from "../dataplane/naming.js";
import { conflict, invalidArgument } from "../errors.js";
import type { Endpoint, Namespace } from "../model/types.js";
import { getNamespace, type Core } from "./context.js";
import { endpointChanged, namespaceChanged } from "./record.js";
import type { NamespaceSpec } from "./specs.js";
import { checkName } from "./validate.js";

/** Why a path cannot be adopted: a file that is no namespace, or hostnetd's own, whose links it manages. */
const refusal = {
  missing: "does not exist",
  "not-a-network-namespace": "is not a network namespace (a bind mount of /proc/PID/ns/net is)",
  "hostnetd's own": "is hostnetd's own network namespace, where it keeps its bridges: not a container's",
} as const;

export async function createNamespace(core: Core, spec: NamespaceSpec): Promise<Namespace> {
  const name = checkName("name", spec.name);
  const owned = spec.path === undefined;
  const path = spec.path ?? `${NETNS_DIR}/${name}`;
  const found = core.host.namespaceAt(path);
  if (owned && found !== "missing")
    throw conflict(`${path} already exists; adopt it by giving its Path instead`, "name");
  if (!owned && found !== "network namespace") throw invalidArgument("path", `${path} ${refusal[found]}`);
  const id = randomUUID();
  core.store.write(() => {
    if (core.store.namespaces.find(name) !== undefined)
      throw conflict(`namespace "${name}" already exists`, "name");
    if (core.store.namespaces.find(path) !== undefined)
      throw conflict(`namespace path ${path} is already known`, "path");
    core.store.namespaces.insert({ id, name, path, owned });
  });
  core.namespacesInMaking.add(id);
  try {
    await core.convergeOrUndo([`ns:${id}`], () => core.store.namespaces.delete(id));
  } finally {
    core.namespacesInMaking.delete(id);
  }
  const created = getNamespace(core, id);
  namespaceChanged(core, "create", created);
  return created;
}

/** Detaches every endpoint in the namespace, then forgets it (and deletes it if hostnet made it). */
export async function deleteNamespace(core: Core, ref: string): Promise<void> {
  const ns = getNamespace(core, ref);
  const attached = core.store.endpoints.all({ namespaceId: ns.id });
  for (const ep of attached) core.host.leases.stop(ep.id);
  core.store.write(() => {
    for (const ep of attached) core.store.endpoints.setAttachment(ep.id, null);
    core.store.namespaces.delete(ns.id);
  });
  await core.reconciler.converge([...attached.map((ep) => `ep:${ep.id}` as const), `ns:${ns.id}`]);
  for (const ep of attached) endpointChanged(core, "detach", ep);
  namespaceChanged(core, "delete", ns);
}

/**
 * A namespace deleted under hostnet: its endpoints are detached, saying why, rather than attached to a new
 * namespace at the same path that none of the container's processes are in. One hostnet made is forgotten
 * too, as whoever ran `ip netns del` meant; an adopted one stays known until its runtime lets it go (CNI
 * DEL, DELETE /namespaces). Returns the endpoints it detached.
 */
export async function namespaceVanished(core: Core, ref: string): Promise<Endpoint[]> {
  const ns = core.store.namespaces.find(ref);
  if (ns === undefined) return [];
  const attached = core.store.endpoints.all({ namespaceId: ns.id });
  for (const ep of attached) core.host.leases.stop(ep.id);
  core.store.write(() => {
    for (const ep of attached) core.store.endpoints.setAttachment(ep.id, null, "namespace vanished");
    if (ns.owned) core.store.namespaces.delete(ns.id);
  });
  await core.reconciler.namespaceGone(ns);
  await core.reconciler.converge([...attached.map((ep) => `ep:${ep.id}` as const), `ns:${ns.id}`]);
  const why = { Reason: "namespace vanished" };
  for (const ep of attached) endpointChanged(core, "detach", ep, why);
  if (ns.owned) namespaceChanged(core, "delete", ns);
  return attached;
}
