/**
 * The registry of HNS policy kinds: one line per kind. The policies hostnet keeps (their types derive from
 * here), and the settings a network or an endpoint is given as policies. parse.ts and view.ts are what the
 * doors use; objects.ts and checks.ts what the modes and the core ask. Pure: nothing here runs commands.
 */
import type { TSchema } from "typebox";
import { acl } from "./acl.js";
import type { EndpointSettingKind, NetworkSettingKind, PolicyKind } from "./kind.js";
import { netAdapterName } from "./net-adapter-name.js";
import { outboundNat } from "./outbound-nat.js";
import { portMapping } from "./port-mapping.js";
import { providerAddress } from "./provider-address.js";
import { qos } from "./qos.js";
import { remoteSubnetRoute } from "./remote-subnet-route.js";
import { sdnRoute } from "./sdn-route.js";
import { vlan } from "./vlan.js";
import { encapOverhead, vsid, vxlanPort } from "./vxlan.js";

/** The policies hostnet keeps in endpoints' and networks' lists, in the order doors name them. */
export const policyKinds = {
  ACL: acl,
  QOS: qos,
  OutBoundNAT: outboundNat,
  SDNRoute: sdnRoute,
  RemoteSubnetRoute: remoteSubnetRoute,
  VLAN: vlan,
} as const;

/** The policies that set part of a network instead. */
export const networkSettingKinds = {
  NetAdapterName: netAdapterName,
  VSID: vsid,
  VxlanPort: vxlanPort,
  EncapOverhead: encapOverhead,
} as const;

/** The policies that set part of an endpoint instead. */
export const endpointSettingKinds = {
  PortMapping: portMapping,
  ProviderAddress: providerAddress,
} as const;

type Kinds = (typeof policyKinds)[keyof typeof policyKinds];
type PolicyOf<K> = K extends PolicyKind<infer P> ? P : never;
type EndpointPolicyOf<K> =
  K extends PolicyKind<infer P, TSchema, infer W> ? ("endpoint" extends W ? P : never) : never;

/** A policy of a network: one every endpoint of it gets, or one of the network's own. */
export type NetworkPolicy = PolicyOf<Kinds>;
/** A policy an endpoint may have. */
export type EndpointPolicy = EndpointPolicyOf<Kinds>;

/** A kind as the registry handles any of them. */
export type AnyPolicyKind = PolicyKind<NetworkPolicy>;

export const allPolicyKinds: readonly AnyPolicyKind[] = Object.values(policyKinds);
export const allNetworkSettingKinds: readonly NetworkSettingKind[] = Object.values(networkSettingKinds);
export const allEndpointSettingKinds: readonly EndpointSettingKind[] = Object.values(endpointSettingKinds);

/** Every kind's Settings schema as `<Type>Settings`, for the API's description (/openapi.json). */
export const settingsSchemas: Readonly<Record<string, TSchema>> = Object.fromEntries(
  [...allPolicyKinds, ...allNetworkSettingKinds, ...allEndpointSettingKinds].map((k) => [
    `${k.type}Settings`,
    k.settings,
  ]),
);

/** The kind of a policy type, if hostnet has it. */
export const policyKind = (type: string): AnyPolicyKind | undefined =>
  allPolicyKinds.find((k) => k.type === type);

/** The kind of a policy hostnet keeps. */
export const kindOf = (p: NetworkPolicy): AnyPolicyKind => policyKinds[p.type];

/** Policy types a network or an endpoint has at most one of. */
export const singletonPolicies: readonly string[] = allPolicyKinds
  .filter((k) => k.singleton)
  .map((k) => k.type);

/** Whether a policy is one its network's endpoints get (not one of the network's own). */
export const isEndpointPolicy = (p: NetworkPolicy): p is EndpointPolicy =>
  kindOf(p).places.includes("endpoint");
