/**
 * Namespaces endpoints attach to: one hostnet makes under /run/netns (and deletes again), or one a runtime
 * hands in by its path (adopted: hostnet never deletes it).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { NETNS_DIR } from "../dataplane/naming.js";
import { conflict, invalidArgument } from "../errors.js";
import type { Namespace } from "../model/types.js";
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
    if (core.store.namespaces.find(name) !== undefined)
      throw conflict(`namespace "${name}" already exists`, "name");
    if (core.store.namespaces.find(path) !== undefined)
      throw conflict(`namespace path ${path} is already known`, "path");
    core.store.namespaces.insert({ id, name, path, owned });
  });
  await core.convergeOrUndo([`ns:${id}`], () => core.store.namespaces.delete(id));
  return getNamespace(core, id);
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
}
