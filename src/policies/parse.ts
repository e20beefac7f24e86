/**
 * HNS policy documents as the doors receive them, read through the registry: the policies hostnet keeps,
 * and the settings some documents give the network or endpoint they come with. Every error names the
 * request field under the door's own base (`Policies`, Docker's `Options.policies`).
 */
import { invalidArgument } from "../errors.js";
import {
  allEndpointSettingKinds,
  allNetworkSettingKinds,
  allPolicyKinds,
  policyKind,
  type EndpointPolicy,
  type NetworkPolicy,
} from "./index.js";
import type { EndpointSettings, GivenPolicy, NetworkSettings, Place, SettingKind } from "./kind.js";

/** `{Type, Settings}` as a request gives it. */
export interface PolicyDocument {
  readonly Type: string;
  readonly Settings?: unknown;
}

const settingKindsAt: Record<Place, readonly SettingKind<unknown, never>[]> = {
  endpoint: allEndpointSettingKinds,
  network: allNetworkSettingKinds,
};
const whose: Record<Place, string> = { endpoint: "an endpoint's", network: "a network's" };

/** Where documents of a type may be given; nowhere when hostnet does not have the type. */
const placesOf = (type: string): readonly Place[] =>
  policyKind(type)?.places ??
  (["network", "endpoint"] as const).filter((p) => settingKindsAt[p].some((k) => k.type === type));

/** Why a document of this type cannot be given at `place`. */
function refusal(at: string, type: string, place: Place, withSettings: boolean): Error {
  const places = placesOf(type);
  if (places.length === 0) {
    const types = [
      ...allPolicyKinds.filter((k) => k.places.includes(place)).map((k) => k.type),
      ...(withSettings ? settingKindsAt[place].map((k) => k.type) : []),
    ];
    return invalidArgument(`${at}.Type`, `policy type "${type}" is not supported (${types.join(", ")})`);
  }
  if (!places.includes(place))
    return invalidArgument(`${at}.Type`, `${type} is ${places.map((p) => whose[p]).join(" or ")} policy`);
  return invalidArgument(`${at}.Type`, `${type} is given when the ${place} is created, not changed later`);
}

/** One document as a policy hostnet keeps, given at `place` (`at` is its field, `Policies[i]`). */
export function parsePolicy(at: string, type: string, settings: unknown, place: "endpoint"): EndpointPolicy;
export function parsePolicy(at: string, type: string, settings: unknown, place: Place): NetworkPolicy;
export function parsePolicy(at: string, type: string, settings: unknown, place: Place): NetworkPolicy {
  const kind = policyKind(type);
  if (!kind?.places.includes(place)) throw refusal(at, type, place, false);
  return kind.parse(`${at}.Settings`, settings);
}

/** A policy request's documents: policies only, since settings come with the network or endpoint. */
export function parsePolicies(
  docs: readonly PolicyDocument[],
  place: "endpoint",
  base?: string,
): GivenPolicy<EndpointPolicy>[];
export function parsePolicies(docs: readonly PolicyDocument[], place: Place, base?: string): GivenPolicy[];
export function parsePolicies(
  docs: readonly PolicyDocument[],
  place: Place,
  base = "Policies",
): GivenPolicy[] {
  return docs.map((d, i) => {
    const at = `${base}[${i}]`;
    return { field: `${at}.Settings`, policy: parsePolicy(at, d.Type, d.Settings, place) };
  });
}

/** The documents a network or an endpoint is created with: its policies, and each setting's part. */
function parseCreated<P, Spec>(
  docs: readonly PolicyDocument[],
  place: Place,
  base: string,
  settingKinds: readonly SettingKind<Spec, never>[],
  parse: (at: string, doc: PolicyDocument) => P,
): { policies: GivenPolicy<P>[]; settings: Spec[] } {
  const policies: GivenPolicy<P>[] = [];
  const settings: Spec[] = [];
  docs.forEach((d, i) => {
    const at = `${base}[${i}]`;
    const setting = settingKinds.find((k) => k.type === d.Type);
    if (setting === undefined) {
      if (policyKind(d.Type)?.places.includes(place) !== true) throw refusal(at, d.Type, place, true);
      policies.push({ field: `${at}.Settings`, policy: parse(at, d) });
      return;
    }
    if (setting.singleton && docs.slice(0, i).some((e) => e.Type === d.Type))
      throw invalidArgument(at, `a ${place} has at most one ${d.Type} policy`);
    settings.push(setting.parse(`${at}.Settings`, d.Settings));
  });
  return { policies, settings };
}

/** A network's documents: the policies it keeps, its uplink and its VXLAN. */
export function parseNetworkPolicies(
  docs: readonly PolicyDocument[],
  base = "Policies",
): NetworkSettings & { readonly policies: GivenPolicy[] } {
  const { policies, settings } = parseCreated(docs, "network", base, allNetworkSettingKinds, (at, d) =>
    parsePolicy(at, d.Type, d.Settings, "network"),
  );
  const merged = settings.reduce<NetworkSettings>(
    (all, s) => ({
      ...all,
      ...s,
      ...(s.overlay === undefined ? {} : { overlay: { ...all.overlay, ...s.overlay } }),
    }),
    {},
  );
  return { ...merged, policies };
}

/** An endpoint's documents: the policies it keeps and its port mappings. */
export function parseEndpointPolicies(
  docs: readonly PolicyDocument[],
  base = "Policies",
): EndpointSettings & { readonly policies: GivenPolicy<EndpointPolicy>[] } {
  const { policies, settings } = parseCreated(docs, "endpoint", base, allEndpointSettingKinds, (at, d) =>
    parsePolicy(at, d.Type, d.Settings, "endpoint"),
  );
  const provider = settings.find((s) => s.providerAddress !== undefined)?.providerAddress;
  return {
    policies,
    portMappings: settings.flatMap((s) => s.portMappings),
    ...(provider === undefined ? {} : { providerAddress: provider }),
  };
}
