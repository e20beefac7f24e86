/**
 * OutBoundNAT (HNS OutBoundNAT): an endpoint's traffic leaving the host is SNAT'ed to its VirtualIP instead
 * of masqueraded, and traffic to its exception prefixes leaves with the endpoint's own address. One map or
 * set element per address and prefix.
 */
import { Type, type Static } from "typebox";
import { checkSettingsList } from "../model/limits.js";
import { invalidArgument } from "../errors.js";
import type { KernelObject } from "../dataplane/objects.js";
import { cidrOf, familyOfAddress, notUnicast, parseIp, parsePrefix } from "../model/ip.js";
import { settingsObject, type PolicyKind } from "./kind.js";

export interface OutboundNatPolicy {
  readonly type: "OutBoundNAT";
  /** The source address to use instead of masquerading; null keeps masquerade. */
  readonly virtualIp: string | null;
  readonly exceptions: readonly string[];
}

export const OutboundNatSettings = Type.Object({
  VirtualIP: Type.Optional(
    Type.String({ description: "An address of the host to SNAT to; without one, traffic is masqueraded" }),
  ),
  Exceptions: Type.Array(Type.String(), {
    description: "Prefixes (or addresses) traffic to which is not NATed at all",
  }),
});
export type OutboundNatSettings = Static<typeof OutboundNatSettings>;

/** The address traffic is SNAT'ed to, which replies come back to: a unicast one. */
function sourceAddress(field: string, text: string): string {
  const ip = parseIp(field, text);
  const special = notUnicast(ip);
  if (special !== undefined)
    throw invalidArgument(field, `${ip.address} is ${special}; traffic is SNAT'ed to a unicast address`);
  return ip.address;
}

function parseOutboundNat(field: string, settings: unknown): OutboundNatPolicy {
  const s = settingsObject(field, settings);
  const vip = s["VirtualIP"];
  if (vip !== undefined && vip !== null && typeof vip !== "string")
    throw invalidArgument(`${field}.VirtualIP`, "must be an IP address");
  const exceptions = s["Exceptions"] ?? [];
  if (!Array.isArray(exceptions)) throw invalidArgument(`${field}.Exceptions`, "must be a list of prefixes");
  checkSettingsList(`${field}.Exceptions`, exceptions);
  return {
    type: "OutBoundNAT",
    virtualIp:
      vip === undefined || vip === null || vip === "" ? null : sourceAddress(`${field}.VirtualIP`, vip),
    exceptions: exceptions.map((e, i) => {
      const f = `${field}.Exceptions[${i}]`;
      if (typeof e !== "string") throw invalidArgument(f, "must be a prefix");
      return cidrOf(parsePrefix(f, e.includes("/") ? e : `${e}/${e.includes(":") ? 128 : 32}`));
    }),
  };
}

export const outboundNat: PolicyKind<OutboundNatPolicy, typeof OutboundNatSettings> = {
  type: "OutBoundNAT",
  settings: OutboundNatSettings,
  places: ["endpoint", "network"],
  singleton: true,
  parse: parseOutboundNat,
  view: (p) => ({
    ...(p.virtualIp === null ? {} : { VirtualIP: p.virtualIp }),
    Exceptions: [...p.exceptions],
  }),
  endpointObjects({ ep, policies: [policy] }) {
    if (policy === undefined) return [];
    const owner = `ep:${ep.id}` as const;
    const objects: KernelObject[] = [];
    for (const a of ep.addresses) {
      if (policy.virtualIp !== null && familyOfAddress(policy.virtualIp) === a.family)
        objects.push({
          kind: "nftElement",
          owner,
          set: `snat${a.family}`,
          key: [{ t: "addr", v: a.address }],
          value: [{ t: "addr", v: policy.virtualIp }],
        });
      for (const e of policy.exceptions.filter((p) => familyOfAddress(p) === a.family))
        objects.push({
          kind: "nftElement",
          owner,
          set: `snatExcept${a.family}`,
          key: [
            { t: "addr", v: a.address },
            { t: "prefix", v: e },
          ],
          value: null,
        });
    }
    return objects;
  },
};
