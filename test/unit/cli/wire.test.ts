/**
 * The client mirrors the API's JSON by hand, since it may not import TypeBox (see src/client/wire.ts).
 * These checks run in the type checker: if the API's schemas change, this file stops compiling.
 */
import type { Static } from "typebox";
import { expectTypeOf, it } from "vitest";
import type * as api from "../../../src/api/rest/wire.js";
import type * as info from "../../../src/api/rest/info.js";
import type * as lb from "../../../src/api/rest/load-balancers.js";
import type * as client from "../../../src/client/wire.js";
import type { AclSettings } from "../../../src/policies/acl.js";
import type { PortMappingSettings } from "../../../src/policies/port-mapping.js";
import type { QosSettings } from "../../../src/policies/qos.js";
import type { RemoteSubnetRouteSettings } from "../../../src/policies/remote-subnet-route.js";

/** The client's types are readonly throughout; TypeBox's are not. That difference does not matter here. */
type Writable<T> = T extends readonly (infer U)[]
  ? Writable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Writable<T[K]> }
    : T;

it("types hostnetd's answers exactly as the API schemas do", () => {
  expectTypeOf<Writable<client.Network>>().toEqualTypeOf<Static<typeof api.NetworkWire>>();
  expectTypeOf<Writable<client.Endpoint>>().toEqualTypeOf<Static<typeof api.EndpointWire>>();
  expectTypeOf<Writable<client.Namespace>>().toEqualTypeOf<Static<typeof api.NamespaceWire>>();
  expectTypeOf<Writable<client.ErrorBody>>().toEqualTypeOf<Static<typeof api.ErrorBody>>();
  expectTypeOf<Writable<client.LoadBalancer>>().toEqualTypeOf<Static<typeof lb.LoadBalancerWire>>();
  expectTypeOf<Writable<client.Info>>().toEqualTypeOf<info.Info>();
});

it("sends only requests the API schemas accept", () => {
  expectTypeOf<Writable<client.NetworkRequest>>().toEqualTypeOf<Static<typeof api.NetworkRequest>>();
  expectTypeOf<Writable<client.EndpointRequest>>().toEqualTypeOf<Static<typeof api.EndpointRequest>>();
  expectTypeOf<Writable<client.AttachRequest>>().toEqualTypeOf<Static<typeof api.AttachRequest>>();
  expectTypeOf<Writable<client.NamespaceRequest>>().toEqualTypeOf<Static<typeof api.NamespaceRequest>>();
  expectTypeOf<Writable<client.PolicyRequest>>().toEqualTypeOf<Static<typeof api.PolicyRequest>>();
  expectTypeOf<Writable<client.LoadBalancerRequest>>().toEqualTypeOf<Static<typeof lb.LoadBalancerRequest>>();
  expectTypeOf<Writable<client.BackendRequest>>().toEqualTypeOf<Static<typeof lb.BackendRequest>>();
});

it("writes policy Settings as the policy kinds' schemas type them", () => {
  expectTypeOf<Writable<client.AclSettings>>().toEqualTypeOf<AclSettings>();
  expectTypeOf<Writable<client.QosSettings>>().toEqualTypeOf<QosSettings>();
  expectTypeOf<Writable<client.RemoteSubnetRouteSettings>>().toEqualTypeOf<RemoteSubnetRouteSettings>();
  expectTypeOf<Writable<client.PortMappingSettings>>().toEqualTypeOf<PortMappingSettings>();
});
