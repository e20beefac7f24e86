/**
 * PortMapping (HNS): a host port forwarded to the endpoint. hostnet keeps port mappings as the endpoint's
 * own records, which the network's mode programs, and shows them as these policies.
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import type { Protocol } from "../model/types.js";
import { settingsObject, type EndpointSettingKind, type FieldValue } from "./kind.js";

export const PortMappingSettings = Type.Object(
  {
    Protocol: Type.Union([Type.Literal("TCP"), Type.Literal("UDP"), Type.Literal(6), Type.Literal(17)]),
    InternalPort: Type.Integer(),
    ExternalPort: Type.Integer(),
    VIP: Type.Optional(Type.String({ description: "The host address it is bound to; every one without" })),
  },
  { description: "hostnetd shows protocols as numbers (6, 17) and reads names in any case too" },
);
export type PortMappingSettings = Static<typeof PortMappingSettings>;

/** TCP or UDP, by number or by name. */
export function protocolOf(field: string, p: number | string): Protocol {
  const text = String(p).toLowerCase();
  if (text === "6" || text === "tcp") return "tcp";
  if (text === "17" || text === "udp") return "udp";
  throw invalidArgument(field, `protocol ${String(p)} is not supported (6/TCP or 17/UDP)`);
}

export const portMapping: EndpointSettingKind<typeof PortMappingSettings> = {
  type: "PortMapping",
  settings: PortMappingSettings,
  singleton: false,
  parse(field, settings) {
    const s = settingsObject(field, settings);
    const int = (key: string): FieldValue<number> => {
      const value = s[key];
      if (typeof value !== "number") throw invalidArgument(`${field}.${key}`, "must be an integer");
      return { value, field: `${field}.${key}` };
    };
    const protocol = s["Protocol"];
    if (typeof protocol !== "number" && typeof protocol !== "string")
      throw invalidArgument(`${field}.Protocol`, "must be 6, 17, TCP or UDP");
    const vip = s["VIP"];
    if (vip !== undefined && typeof vip !== "string")
      throw invalidArgument(`${field}.VIP`, "must be a string");
    const mapping = {
      field,
      protocol: protocolOf(`${field}.Protocol`, protocol),
      hostPort: int("ExternalPort"),
      internalPort: int("InternalPort"),
    };
    const bound = vip === undefined || vip === "" ? {} : { hostIp: { value: vip, field: `${field}.VIP` } };
    return { portMappings: [{ ...mapping, ...bound }] };
  },
  view: (ep) =>
    ep.portMappings.map((m) => ({
      Protocol: m.protocol === "tcp" ? 6 : 17,
      InternalPort: m.internalPort,
      ExternalPort: m.hostPort,
      ...(m.hostIp === null ? {} : { VIP: m.hostIp }),
    })),
};
