/** The network settings only some types take: every other type refuses them, naming the field. */
import type { NetworkSpec } from "../core/specs.js";
import { invalidArgument } from "../errors.js";
import type { NetworkType } from "../model/types.js";
import type { PreparedNetwork } from "./mode.js";

/** What a type without VXLAN or uplink prepares: neither. */
export const prepareNothing = (): Promise<PreparedNetwork> =>
  Promise.resolve({ overlay: null, uplink: null });

/** The VXLAN settings a network of another type must not have: it would not do what they ask. */
export function refuseVxlan(type: NetworkType, spec: NetworkSpec): void {
  const given = spec.overlay?.vni ?? spec.overlay?.port ?? spec.overlay?.overhead;
  if (given !== undefined)
    throw invalidArgument(
      given.field,
      `${type} networks have no VXLAN: only Overlay networks take this policy`,
    );
}

/** The uplink NIC a network of a type without one must not name. */
export function refuseUplink(type: NetworkType, spec: NetworkSpec): void {
  if (spec.adapter !== undefined)
    throw invalidArgument(spec.adapter.field, `${type} networks take no uplink NIC`);
}
