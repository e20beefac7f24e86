/**
 * SDNRoute (HNS SDNRoute): a route inside the endpoint's namespace, through its interface. A runtime that
 * configures the container end itself gets the routes to install instead (Docker's StaticRoutes).
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import { cidrOf, contains, familyOfAddress, parseIp, parsePrefix } from "../model/ip.js";
import { settingsObject, type PolicyKind } from "./kind.js";

export interface SdnRoutePolicy {
  readonly type: "SDNRoute";
  readonly destinationPrefix: string;
  readonly nextHop: string;
}

export const SdnRouteSettings = Type.Object({
  DestinationPrefix: Type.String({ description: "CIDR" }),
  NextHop: Type.String({ description: "An address on one of the network's subnets" }),
});
export type SdnRouteSettings = Static<typeof SdnRouteSettings>;

function parseSdnRoute(field: string, settings: unknown): SdnRoutePolicy {
  const s = settingsObject(field, settings);
  const text = (key: string): string => {
    const v = s[key];
    if (typeof v !== "string") throw invalidArgument(`${field}.${key}`, "is required");
    return v;
  };
  const destination = parsePrefix(`${field}.DestinationPrefix`, text("DestinationPrefix"));
  // The endpoint's default route is its subnet's gateway's; a second one would fight it in the kernel.
  if (destination.length === 0)
    throw invalidArgument(
      `${field}.DestinationPrefix`,
      "is a default route, which an endpoint has through its subnet's gateway (the network's Routes)",
    );
  const nextHop = parseIp(`${field}.NextHop`, text("NextHop"));
  if (nextHop.family !== destination.family)
    throw invalidArgument(`${field}.NextHop`, `${nextHop.address} is not of the destination's family`);
  return { type: "SDNRoute", destinationPrefix: cidrOf(destination), nextHop: nextHop.address };
}

export const sdnRoute: PolicyKind<SdnRoutePolicy, typeof SdnRouteSettings> = {
  type: "SDNRoute",
  settings: SdnRouteSettings,
  places: ["endpoint", "network"],
  singleton: false,
  parse: parseSdnRoute,
  view: (p) => ({ DestinationPrefix: p.destinationPrefix, NextHop: p.nextHop }),
  checkOnNetwork({ field, policy }, net) {
    const hop = parseIp(`${field}.NextHop`, policy.nextHop);
    if (!net.subnets.some((s) => contains(parsePrefix("subnet", s.prefix), hop)))
      throw invalidArgument(`${field}.NextHop`, `${hop.address} is on no subnet of network "${net.name}"`);
  },
  endpointObjects({ ep, ns, policies }) {
    if (ep.attachment?.kind !== "namespace" || ns === null) return [];
    const dev = ep.attachment.ifname;
    return policies.map((r) => ({
      kind: "route",
      owner: `ep:${ep.id}`,
      netns: ns.path,
      family: familyOfAddress(r.nextHop),
      dst: r.destinationPrefix,
      via: r.nextHop,
      dev,
    }));
  },
};
