/**
 * Request bodies are closed: a field hostnet does not know is refused (400 naming it), since dropping it
 * would do something else than asked (a typo `Polices` made an endpoint without its port mappings). The
 * fields of HNS's own schema (hcsshim's hcn structs) that hostnet has no use for are accepted and ignored,
 * so that a client written for HNS is not refused for sending them; docs/api.md lists them.
 */
import { Type, type TObject, type TProperties } from "typebox";

/** HNS's fields hostnet accepts and ignores, by the object of a request that carries them. */
export const hnsIgnoredFields = {
  HostComputeNetwork: ["ID", "MacPool", "Flags", "Health", "SchemaVersion"],
  Subnet: ["Policies", "Flags"],
  Route: ["Metric"],
  HostComputeEndpoint: ["ID", "Routes", "Health", "SchemaVersion"],
  HostComputeNamespace: ["ID", "NamespaceId", "Type", "Resources", "SchemaVersion"],
  HostComputeLoadBalancer: ["ID", "SchemaVersion"],
  ModifySettingRequest: ["ResourceType"],
} as const satisfies Record<string, readonly string[]>;

type Ignored = keyof typeof hnsIgnoredFields;

/**
 * A request object that refuses fields it does not name, but for HNS's fields of `ignoring`, which its
 * static type leaves out: nothing reads them.
 */
export function closedObject<P extends TProperties>(
  properties: P,
  options: { description?: string; ignoring?: Ignored } = {},
): TObject<P> {
  const { ignoring, ...rest } = options;
  const ignored = Object.fromEntries(
    (ignoring === undefined ? [] : hnsIgnoredFields[ignoring]).map((name) => [
      name,
      Type.Optional(Type.Unknown({ description: "HNS's field, accepted and ignored" })),
    ]),
  );
  return Type.Object({ ...properties, ...ignored }, { ...rest, additionalProperties: false });
}
