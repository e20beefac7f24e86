/** NetAdapterName (HNS): the uplink NIC of a network on the physical LAN, which its bridge takes in. */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import type { NetworkSettingKind } from "./kind.js";

export const NetAdapterNameSettings = Type.Object({
  NetworkAdapterName: Type.String({ description: "The uplink NIC, for the types that take one" }),
});
export type NetAdapterNameSettings = Static<typeof NetAdapterNameSettings>;

export const netAdapterName: NetworkSettingKind<typeof NetAdapterNameSettings> = {
  type: "NetAdapterName",
  settings: NetAdapterNameSettings,
  singleton: true,
  parse(field, settings) {
    const name = (settings as { NetworkAdapterName?: unknown } | null | undefined)?.NetworkAdapterName;
    const at = `${field}.NetworkAdapterName`;
    if (typeof name !== "string" || name === "") throw invalidArgument(at, "must name the uplink NIC");
    return { adapter: { name, field: at } };
  },
  view: (net) => (net.adapter === null ? [] : [{ NetworkAdapterName: net.adapter }]),
};
