/**
 * VLAN (HNS VLAN, `{IsolationId}`): an endpoint's bridge port on one VLAN of an uplink's LAN. Its frames
 * leave the uplink tagged and arrive untagged in the container; it reaches only its VLAN's hosts, on the LAN
 * and on the host. Given with a network, every endpoint of it is on that VLAN; an endpoint's own overrides it.
 * The network's bridge filters VLANs once one of its ports has one, its uplink a trunk of every VLAN.
 */
import { Type } from "typebox";
import { invalidArgument } from "../errors.js";
import { bridgeName, hostVethName } from "../dataplane/naming.js";
import type { NetworkType } from "../model/types.js";
import { settingsObject, type PolicyKind } from "./kind.js";

export interface VlanPolicy {
  readonly type: "VLAN";
  readonly isolationId: number;
}

const MIN_VLAN = 1;
const MAX_VLAN = 4094;
/**
 * The bridge's default VLAN, which the uplink's untagged traffic (the host's own addresses) is on: an
 * endpoint on it needs nothing of VLAN filtering, and its frames leave the uplink untagged.
 */
const NATIVE_VLAN = 1;

/** The types whose bridge has an uplink on a LAN, where VLANs mean something. */
const vlanTypes: readonly NetworkType[] = ["Transparent", "L2Bridge", "L2Tunnel"];

export const VlanSettings = Type.Object({
  IsolationId: Type.Integer({
    minimum: MIN_VLAN,
    maximum: MAX_VLAN,
    description: `The 802.1Q VLAN ID, ${MIN_VLAN} to ${MAX_VLAN}; ${NATIVE_VLAN} is the uplink's untagged traffic`,
  }),
});

/** A VLAN policy of `id`, given at `field` (a door's own option, say), or InvalidArgument naming it. */
export function vlanPolicy(field: string, id: unknown): VlanPolicy {
  if (typeof id !== "number" || !Number.isInteger(id) || id < MIN_VLAN || id > MAX_VLAN)
    throw invalidArgument(field, `must be a VLAN ID, an integer from ${MIN_VLAN} to ${MAX_VLAN}`);
  return { type: "VLAN", isolationId: id };
}

const parseVlan = (field: string, settings: unknown): VlanPolicy =>
  vlanPolicy(`${field}.IsolationId`, settingsObject(field, settings)["IsolationId"]);

export const vlan: PolicyKind<VlanPolicy, typeof VlanSettings> = {
  type: "VLAN",
  settings: VlanSettings,
  places: ["endpoint", "network"],
  singleton: true,
  needs: { feature: "vlanFiltering", what: "VLAN filtering on bridges (CONFIG_BRIDGE_VLAN_FILTERING)" },
  parse: parseVlan,
  view: (p) => ({ IsolationId: p.isolationId }),
  checkOnNetwork(given, net) {
    if (!vlanTypes.includes(net.type))
      throw invalidArgument(
        given.field,
        `${net.type} networks have no VLANs: only ${vlanTypes.join(", ")} networks, on an uplink's LAN`,
      );
  },
  endpointObjects({ ep, net, policies: [policy] }) {
    if (policy === undefined || policy.isolationId === NATIVE_VLAN) return [];
    return [
      {
        kind: "portVlan",
        owner: `ep:${ep.id}`,
        dev: hostVethName(ep.shortId),
        bridge: bridgeName(net.shortId),
        uplink: net.uplink?.dev ?? null,
        vid: policy.isolationId,
        stray: [],
      },
    ];
  },
};
