/**
 * The events the core records once a change has reached the kernel, one function per noun, each with the
 * details an operator wants beside the object's name (an endpoint's network, a namespace's path); and the
 * reconciler's failures and repairs as events.
 */
import { describe } from "../dataplane/objects.js";
import type { ConvergeObserver } from "../dataplane/reconciler.js";
import type { EventAction, EventDetails, EventKind } from "../events/event.js";
import type { EventLog } from "../events/log.js";
import type { Endpoint, LoadBalancer, Namespace, Network } from "../model/types.js";
import type { Store } from "../store/store.js";

/** What recording needs: the log, and the store to name what an event refers to. */
export interface Recorder {
  readonly store: Store;
  readonly events: EventLog;
}

export function networkChanged(
  r: Recorder,
  action: EventAction,
  net: Network,
  details: EventDetails = {},
): void {
  r.events.record({
    kind: "network",
    action,
    id: net.id,
    name: net.name,
    details: { Type: net.type, ...details },
  });
}

export function endpointChanged(
  r: Recorder,
  action: EventAction,
  ep: Endpoint,
  details: EventDetails = {},
): void {
  const network = r.store.networks.find(ep.networkId)?.name ?? ep.networkId;
  r.events.record({
    kind: "endpoint",
    action,
    id: ep.id,
    name: ep.name,
    details: {
      Network: network,
      ...(ep.remoteHost === null ? {} : { RemoteHost: ep.remoteHost }),
      ...attachmentDetails(r, ep),
      ...details,
    },
  });
}

/** Where an endpoint is attached: a namespace and interface, or the sandbox of a runtime (Docker). */
function attachmentDetails(r: Recorder, ep: Endpoint): EventDetails {
  const a = ep.attachment;
  if (a === null) return {};
  if (a.kind === "handoff") return { Sandbox: a.sandbox };
  return {
    Namespace: r.store.namespaces.find(a.namespaceId)?.name ?? a.namespaceId,
    InterfaceName: a.ifname,
  };
}

export function namespaceChanged(r: Recorder, action: EventAction, ns: Namespace): void {
  r.events.record({ kind: "namespace", action, id: ns.id, name: ns.name, details: { Path: ns.path } });
}

export function loadBalancerChanged(r: Recorder, action: EventAction, lb: LoadBalancer): void {
  const backends = lb.backends.map((id) => r.store.endpoints.find(id)?.name ?? id);
  r.events.record({
    kind: "loadbalancer",
    action,
    id: lb.id,
    name: lb.name,
    details: { FrontendVIPs: [...lb.vips], Backends: backends },
  });
}

interface OwnerRecord {
  readonly kind: EventKind;
  readonly name: string | undefined;
  readonly details?: EventDetails;
}

/** The record each kind of owner names (dataplane/naming.ts), with its name if it still exists. */
const ownerRecords: Readonly<Record<string, (r: Recorder, id: string) => OwnerRecord>> = {
  net: (r, id) => ({ kind: "network", name: r.store.networks.find(id)?.name }),
  ep: (r, id) => {
    const ep = r.store.endpoints.find(id);
    const network = ep === undefined ? undefined : r.store.networks.find(ep.networkId)?.name;
    return { kind: "endpoint", name: ep?.name, details: network === undefined ? {} : { Network: network } };
  },
  ns: (r, id) => ({ kind: "namespace", name: r.store.namespaces.find(id)?.name }),
  lb: (r, id) => ({ kind: "loadbalancer", name: r.store.loadBalancers.find(id)?.name }),
};

/** The object an owner of kernel objects names; `host` for hostnet's own tables and exceptions. */
function ownerObject(
  r: Recorder,
  owner: string,
): { kind: EventKind; id: string; name: string; details: EventDetails } {
  const [, prefix = "", id = owner] = /^(\w+):(.*)$/s.exec(owner) ?? [];
  const found = ownerRecords[prefix]?.(r, id);
  return found === undefined
    ? { kind: "host", id: owner, name: owner, details: {} }
    : { kind: found.kind, id, name: found.name ?? id, details: found.details ?? {} };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The reconciler's reports as events: a converge the kernel refused (one event per owner of its scope,
 * before a refused write is undone), and each owner whose kernel objects a repair made again, with what.
 */
export function convergeEvents(r: Recorder): ConvergeObserver {
  return (_kind, _seconds, ops, _failed, outcome) => {
    if (outcome.kind === "converge") {
      if (outcome.error === undefined) return;
      const owners = outcome.scope === "all" ? ["all"] : outcome.scope;
      for (const owner of owners) {
        const { details, ...object } = ownerObject(r, owner);
        r.events.record({
          ...object,
          action: "converge-failed",
          details: { ...details, Error: messageOf(outcome.error) },
        });
      }
      return;
    }
    const repaired = new Map<string, string[]>();
    for (const op of ops) {
      const what = repaired.get(op.object.owner) ?? [];
      repaired.set(op.object.owner, [...what, `${op.action} ${describe(op.object)}`]);
    }
    for (const [owner, what] of repaired) {
      const { details, ...object } = ownerObject(r, owner);
      r.events.record({
        ...object,
        action: "repaired",
        cause: "drift",
        details: { ...details, Reason: outcome.cause, Repaired: what },
      });
    }
    for (const { owner, error } of outcome.failures) {
      const { details, ...object } = ownerObject(r, owner);
      r.events.record({
        ...object,
        action: "converge-failed",
        cause: "drift",
        details: { ...details, Reason: outcome.cause, Error: messageOf(error) },
      });
    }
  };
}
