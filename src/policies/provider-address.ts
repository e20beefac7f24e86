/**
 * ProviderAddress (HNS): the underlay address of the host a remote endpoint is on, given with the endpoint
 * (`Flags: 1`) as Windows kube-proxy gives it for the pods of other nodes. hostnet keeps it as the
 * endpoint's remote host, and shows every remote endpoint's host as this policy.
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import { settingsObject, type EndpointSettingKind } from "./kind.js";

export const ProviderAddressSettings = Type.Object({
  ProviderAddress: Type.String({ description: "The underlay address of the host a remote endpoint is on" }),
});
export type ProviderAddressSettings = Static<typeof ProviderAddressSettings>;

export const providerAddress: EndpointSettingKind<typeof ProviderAddressSettings> = {
  type: "ProviderAddress",
  settings: ProviderAddressSettings,
  singleton: true,
  parse(field, settings) {
    const value = settingsObject(field, settings)["ProviderAddress"];
    const at = `${field}.ProviderAddress`;
    if (typeof value !== "string" || value === "") throw invalidArgument(at, "is required");
    return { portMappings: [], providerAddress: { value, field: at } };
  },
  view: (ep) => (ep.remoteHost === null ? [] : [{ ProviderAddress: ep.remoteHost }]),
};
