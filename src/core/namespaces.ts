/**
 * Namespaces endpoints attach to: one hostnet makes under /run/netns (and deletes again), or one a runtime
 * hands in by its path (adopted: hostnet never deletes it).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { NETNS_DIR } from "../dataplane/naming.js";
import { conflict, invalidArgument } from "../errors.js";
import type { Endpoint, Namespace } from "../model/types.js";
import { getNamespace, type Core } from "./context.js";
import type { NamespaceSpec } from "./specs.js";
import { checkName } from "./validate.js";

export async function createNamespace(core: Core, spec: NamespaceSpec): Promise<Namespace> {
  const name = checkName("name", spec.name);
  const owned = spec.path === undefined;
  const path = spec.path ?? `${NETNS_DIR}/${name}`;
  if (!owned && !existsSync(path)) throw invalidArgument("path", `${path} does not exist`);
  if (owned && existsSync(path))
    throw conflict(`${path} already exists; adopt it by giving its Path instead`, "name");
  const id = randomUUID();
  core.store.write(() => {
    if (core.store.namespace(name) !== undefined)
      throw conflict(`namespace "${name}" already exists`, "name");
    if (core.store.namespace(path) !== undefined)
      throw conflict(`namespace path ${path} is already known`, "path");
    core.store.insertNamespace({ id, name, path, owned });
  });
  await core.convergeOrUndo([`ns:${id}`], () => core.store.deleteNamespace(id));
  return getNamespace(core, id);
}

/** Detaches every endpoint in the namespace, then forgets it (and deletes it if hostnet made it). */
export async function deleteNamespace(core: Core, ref: string): Promise<void> {
  const ns = getNamespace(core, ref);
  const attached = core.store.endpoints({ namespaceId: ns.id });
  for (const ep of attached) core.host.leases.stop(ep.id);
  core.store.write(() => {
    for (const ep of attached) core.store.setAttachment(ep.id, null);
    core.store.deleteNamespace(ns.id);
  });
  await core.reconciler.converge([...attached.map((ep) => `ep:${ep.id}` as const), `ns:${ns.id}`]);
}

/**
 * A namespace deleted under hostnet: its endpoints are detached, saying why, rather than attached to a new
 * namespace at the same path that none of the container's processes are in. One hostnet made is forgotten
 * too, as whoever ran `ip netns del` meant; an adopted one stays known until its runtime lets it go (CNI
 * DEL, DELETE /namespaces). Returns the endpoints it detached.
 */
export async function namespaceVanished(core: Core, ref: string): Promise<Endpoint[]> {
  const ns = core.store.namespace(ref);
  if (ns === undefined) return [];
  const attached = core.store.endpoints({ namespaceId: ns.id });
  for (const ep of attached) core.host.leases.stop(ep.id);
  core.store.write(() => {
    for (const ep of attached) core.store.setAttachment(ep.id, null, "namespace vanished");
    if (ns.owned) core.store.deleteNamespace(ns.id);
  });
  await core.reconciler.converge([...attached.map((ep) => `ep:${ep.id}` as const), `ns:${ns.id}`]);
  return attached;
}
