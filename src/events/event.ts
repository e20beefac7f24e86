/**
 * What hostnet's event stream carries (`GET /events`, `hostnet events`): one change of an object, with when,
 * why and through which door. Events are records of what happened; nothing reads them to decide anything.
 */

/** The objects events are about; `host` is hostnetd's namespace as a whole (a full converge), `cluster` etcd. */
export const eventKinds = ["network", "endpoint", "namespace", "loadbalancer", "host", "cluster"] as const;
export type EventKind = (typeof eventKinds)[number];

export const eventActions = [
  "create",
  "delete",
  "attach",
  "detach",
  /** Its policies (port mappings among them) or a load balancer's backends changed. */
  "update",
  /** The kernel refused to be converged to it. */
  "converge-failed",
  /** What it has in the kernel was changed behind hostnet's back, and made again. */
  "repaired",
  "connected",
  "lost",
] as const;
export type EventAction = (typeof eventActions)[number];

/**
 * Why something happened: the door a request came through (`cli` is the hostnet command, which uses the
 * REST API), or what hostnetd itself noticed.
 */
export const eventCauses = [
  "rest",
  "cli",
  "cni",
  "docker",
  /** The kernel changed under hostnet: drift repaired, a namespace that vanished. */
  "drift",
  /** hostnetd starting: its start-up converge, the default network, what vanished while it was down. */
  "restart",
  /** Another host of the overlay, through etcd. */
  "cluster",
  /** hostnetd's own housekeeping, outside any request. */
  "internal",
] as const;
export type EventCause = (typeof eventCauses)[number];

/** Details as the wire shows them: a few named facts (the network of an endpoint, what drifted). */
export type EventDetails = Readonly<Record<string, string | string[]>>;

/** An event before the store gives it its sequence number and time. */
export interface NewEvent {
  readonly kind: EventKind;
  readonly action: EventAction;
  readonly id: string;
  readonly name: string;
  readonly details?: EventDetails;
  /** The cause of the work in progress unless given (core/cause.ts). */
  readonly cause?: EventCause;
}

export interface HostnetEvent {
  /** Increases by one or more from event to event, also across restarts of hostnetd. */
  readonly seq: number;
  /** RFC 3339 with milliseconds, UTC. */
  readonly time: string;
  readonly kind: EventKind;
  readonly action: EventAction;
  readonly id: string;
  readonly name: string;
  readonly cause: EventCause;
  readonly details: EventDetails;
}
