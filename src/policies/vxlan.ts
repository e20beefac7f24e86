/**
 * HNS's overlay network policies: the VXLAN network identifier (VSID), its UDP port (VxlanPort), and the
 * bytes the encapsulation takes from the underlay's MTU (EncapOverhead). The overlay mode checks them.
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import type { FieldValue, NetworkSettingKind } from "./kind.js";

/** The integer a setting has under `key`. */
function integer(field: string, settings: unknown, key: string): FieldValue<number> {
  const value = (settings as Record<string, unknown> | null | undefined)?.[key];
  const at = `${field}.${key}`;
  if (typeof value !== "number" || !Number.isInteger(value)) throw invalidArgument(at, "must be an integer");
  return { value, field: at };
}

export const VsidSettings = Type.Object({
  IsolationId: Type.Integer({ description: "The VXLAN network identifier, 1 to 16777215" }),
});
export type VsidSettings = Static<typeof VsidSettings>;

export const vsid: NetworkSettingKind<typeof VsidSettings> = {
  type: "VSID",
  settings: VsidSettings,
  singleton: true,
  parse: (field, settings) => ({ overlay: { vni: integer(field, settings, "IsolationId") } }),
  // As HNS shows it: a client adding a RemoteSubnetRoute reads its IsolationId here.
  view: (net) => (net.overlay === null ? [] : [{ IsolationId: net.overlay.vni }]),
};

export const VxlanPortSettings = Type.Object({
  Port: Type.Integer({ description: "The VXLAN's UDP port; 4789 by default" }),
});
export type VxlanPortSettings = Static<typeof VxlanPortSettings>;

export const vxlanPort: NetworkSettingKind<typeof VxlanPortSettings> = {
  type: "VxlanPort",
  settings: VxlanPortSettings,
  singleton: true,
  parse: (field, settings) => ({ overlay: { port: integer(field, settings, "Port") } }),
  view: (net) => (net.overlay === null ? [] : [{ Port: net.overlay.vxlanPort }]),
};

export const EncapOverheadSettings = Type.Object({
  Overhead: Type.Integer({
    description: "Bytes the encapsulation takes from the underlay's MTU; 50 by default",
  }),
});
export type EncapOverheadSettings = Static<typeof EncapOverheadSettings>;

export const encapOverhead: NetworkSettingKind<typeof EncapOverheadSettings> = {
  type: "EncapOverhead",
  settings: EncapOverheadSettings,
  singleton: true,
  parse: (field, settings) => ({ overlay: { overhead: integer(field, settings, "Overhead") } }),
  // Not kept: it shows in the network's MTU.
  view: () => [],
};
