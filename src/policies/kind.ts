/**
 * What a kind of HNS policy is to hostnet: how its `{Type, Settings}` document is read and shown, where it
 * may be given, and what it asks of the kernel and of the checks only its network can answer. Each kind is
 * one file of this folder and one line of the registry (index.ts); nothing outside its file names its type.
 */
import type { Static, TSchema } from "typebox";
import { invalidArgument } from "../errors.js";
import type { KernelObject } from "../dataplane/objects.js";
import type { Prefix } from "../model/ip.js";
import type { KernelFeature } from "../model/kernel-features.js";
import type { Endpoint, Namespace, Network, NetworkType, OverlaySettings, Protocol } from "../model/types.js";
import type { EndpointPolicy, NetworkPolicy } from "./index.js";

/**
 * Where a policy may be given: with an endpoint, or with a network (for the network itself, or, for a kind
 * endpoints take too, for every endpoint of it).
 */
export type Place = "endpoint" | "network";

/** A parsed policy and the request field its Settings came from (`Policies[i].Settings`), for later errors. */
export interface GivenPolicy<P = NetworkPolicy> {
  readonly field: string;
  readonly policy: P;
}

/** The network a policy is checked against when it is given. */
export interface NetworkShape {
  readonly name: string;
  readonly type: NetworkType;
  readonly subnets: readonly { readonly prefix: string }[];
}

/** What a network's own policy is checked against, inside the store transaction that records it. */
export interface NetworkOnHost extends NetworkShape {
  /** The network's VXLAN; null for a network without one. */
  readonly overlay: OverlaySettings | null;
  /** Whether hostnetd runs with --etcd, so that its overlay networks span the cluster. */
  readonly clustered: boolean;
  /** A subnet or routed prefix of another network of this host that overlaps `prefix`, if there is one. */
  overlapping(prefix: Prefix): { readonly prefix: string; readonly network: string } | undefined;
}

/** An endpoint and the policies of one kind in force on it. */
interface InForce<P> {
  readonly ep: Endpoint;
  readonly net: Network;
  /** The namespace it is attached to; null when it is not (handed off to a runtime, say). */
  readonly ns: Namespace | null;
  /** Its own policies of the kind, then its network's, but a network's singleton the endpoint has its own of. */
  readonly policies: readonly P[];
}

/** A policy hostnet keeps in an endpoint's or a network's list of policies. */
export interface PolicyKind<
  P extends { readonly type: string },
  S extends TSchema = TSchema,
  W extends Place = Place,
> {
  /** HNS's `Type`. */
  readonly type: P["type"];
  /** The Settings as hostnetd shows them; sent in this form, a policy reads back unchanged. */
  readonly settings: S;
  readonly places: readonly W[];
  /** Whether a network or an endpoint has at most one policy of the kind. */
  readonly singleton: boolean;
  /** The kernel feature the kind cannot work without, and what it is in words, for the refusal. */
  readonly needs?: { readonly feature: KernelFeature; readonly what: string };
  /** Reads Settings (the request's `field`) into the policy; throws InvalidArgument naming the field at fault. */
  parse(field: string, settings: unknown): P;
  view(policy: P): Static<S>;
  /** What the policies of the kind in force on an attached endpoint add to it. */
  endpointObjects?(inForce: InForce<P>): KernelObject[];
  /** What a network's own policies of the kind add to it. */
  networkObjects?(own: readonly P[], net: Network): KernelObject[];
  /** Checks that need the network the policy is given for. */
  checkOnNetwork?(given: GivenPolicy<P>, net: NetworkShape): void;
  /**
   * Checks of a network's own policy that need the host's other networks; `after` are the network's
   * policies of the kind once the change is made.
   */
  checkOnHost?(given: GivenPolicy<P>, after: readonly P[], net: NetworkOnHost): void;
  /** Checks of what an endpoint's own policies and its network's can do together. */
  checkInForce?(own: readonly EndpointPolicy[], network: readonly NetworkPolicy[]): void;
  /** Prefixes beyond its subnets that the policy routes into its network, which no other network may have. */
  routes?(policy: P): string[];
  /** The key an endpoint's own policy's counters are summed under; kinds without counters have none. */
  counterKey?(endpointId: string, index: number): string;
}

/** A value a door hands in, with the field it came from. */
export interface FieldValue<T> {
  readonly value: T;
  readonly field: string;
}

/** What a network's setting policies give: parts of its spec, each with the field it came from. */
export interface NetworkSettings {
  /** The uplink NIC (HNS's NetAdapterName policy), for the types that take one. */
  readonly adapter?: { readonly name: string; readonly field: string };
  /**
   * An overlay network's VXLAN identifier (HNS's VSID policy), UDP port (VxlanPort policy), and the bytes
   * its encapsulation takes from the underlay's MTU (EncapOverhead policy).
   */
  readonly overlay?: {
    readonly vni?: FieldValue<number>;
    readonly port?: FieldValue<number>;
    readonly overhead?: FieldValue<number>;
  };
}

/**
 * A port mapping as a request gives it, before the network checks it: each part with the door's path for
 * it, and `field` the mapping as a whole (a host port mapped twice, or another endpoint's).
 */
export interface PortMappingSetting {
  readonly field: string;
  readonly protocol: Protocol;
  /** The host address it is bound to; every one without. */
  readonly hostIp?: FieldValue<string>;
  readonly hostPort: FieldValue<number>;
  readonly internalPort: FieldValue<number>;
}

/** What an endpoint's setting policies give. */
export interface EndpointSettings {
  readonly portMappings: readonly PortMappingSetting[];
  /** The host a remote endpoint is on (HNS's ProviderAddress policy). */
  readonly providerAddress?: FieldValue<string>;
}

/**
 * A policy document that is no policy of hostnet's but sets part of what it comes with (`Of`): a network's
 * uplink or VXLAN, an endpoint's port mappings. hostnet keeps the setting, not the document, and shows the
 * setting as the document again.
 */
export interface SettingKind<Spec, Of, S extends TSchema = TSchema> {
  /** HNS's `Type`. */
  readonly type: string;
  readonly settings: S;
  /** Whether a network or an endpoint is given at most one. */
  readonly singleton: boolean;
  parse(field: string, settings: unknown): Spec;
  /** The documents the object shows for its setting; none when it has none. */
  view(of: Of): Static<S>[];
}
export type NetworkSettingKind<S extends TSchema = TSchema> = SettingKind<NetworkSettings, Network, S>;
export type EndpointSettingKind<S extends TSchema = TSchema> = SettingKind<EndpointSettings, Endpoint, S>;

/** Settings as an object of its keys, or InvalidArgument naming `field`. */
export function settingsObject(field: string, settings: unknown): Record<string, unknown> {
  if (typeof settings !== "object" || settings === null) throw invalidArgument(field, "must be an object");
  return settings as Record<string, unknown>;
}
