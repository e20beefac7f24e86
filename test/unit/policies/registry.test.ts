/** What the registry derives from its kinds, and how the doors' entry points read a list of policies. */
import { describe, expect, expectTypeOf, it } from "vitest";
import { singletonPolicies, type EndpointPolicy, type NetworkPolicy } from "../../../src/policies/index.js";
import { effectivePolicies } from "../../../src/policies/objects.js";
import { parseEndpointPolicies, parseNetworkPolicies, parsePolicy } from "../../../src/policies/parse.js";
import { thrown } from "../harness.js";

const qos = (bytes: number) =>
  parsePolicy("Policies[0]", "QOS", { MaximumOutgoingBandwidthInBytes: bytes }, "endpoint");
const acl = parsePolicy("Policies[0]", "ACL", { Action: "Allow", Direction: "In" }, "endpoint");
const route = parsePolicy(
  "Policies[0]",
  "RemoteSubnetRoute",
  { DestinationPrefix: "10.244.2.0/24", IsolationId: 4096, ProviderAddress: "192.168.77.2" },
  "network",
);

describe("the policy registry", () => {
  it("derives the policy types from its kinds, and where they may appear", () => {
    expectTypeOf<NetworkPolicy["type"]>().toEqualTypeOf<
      "ACL" | "QOS" | "OutBoundNAT" | "SDNRoute" | "RemoteSubnetRoute" | "VLAN"
    >();
    expectTypeOf<EndpointPolicy["type"]>().toEqualTypeOf<
      "ACL" | "QOS" | "OutBoundNAT" | "SDNRoute" | "VLAN"
    >();
  });

  it("puts in force an endpoint's own policies, then its network's but for a singleton it has and the network's own", () => {
    expect(singletonPolicies).toEqual(["QOS", "OutBoundNAT", "VLAN"]);
    expect(effectivePolicies([qos(2000)], [qos(1000), acl, route])).toEqual([qos(2000), acl]);
    expect(effectivePolicies([], [qos(1000), route])).toEqual([qos(1000)]);
  });

  it("names the types each place takes when refusing an unknown one", () => {
    const unknown = [{ Type: "L4Proxy", Settings: {} }];
    expect(thrown(() => parseEndpointPolicies(unknown)).message).toBe(
      'Policies[0].Type: policy type "L4Proxy" is not supported (ACL, QOS, OutBoundNAT, SDNRoute, VLAN, PortMapping, ProviderAddress)',
    );
    expect(thrown(() => parseNetworkPolicies(unknown, "Options.policies")).message).toBe(
      'Options.policies[0].Type: policy type "L4Proxy" is not supported (ACL, QOS, OutBoundNAT, SDNRoute, RemoteSubnetRoute, VLAN, NetAdapterName, VSID, VxlanPort, EncapOverhead)',
    );
  });

  it("reads a network's settings from its policies, each once, and keeps the rest as its policies", () => {
    const parsed = parseNetworkPolicies([
      { Type: "VSID", Settings: { IsolationId: 4096 } },
      { Type: "ACL", Settings: { Action: "Allow", Direction: "In" } },
      { Type: "VxlanPort", Settings: { Port: 4790 } },
    ]);
    expect(parsed).toEqual({
      overlay: {
        vni: { value: 4096, field: "Policies[0].Settings.IsolationId" },
        port: { value: 4790, field: "Policies[2].Settings.Port" },
      },
      policies: [{ field: "Policies[1].Settings", policy: acl }],
    });
    const twice = [
      { Type: "NetAdapterName", Settings: { NetworkAdapterName: "eth1" } },
      { Type: "NetAdapterName", Settings: { NetworkAdapterName: "eth2" } },
    ];
    expect(thrown(() => parseNetworkPolicies(twice))).toMatchObject({
      code: "InvalidArgument",
      detail: { field: "Policies[1]" },
    });
  });
});
