/** What the core's unit tests ask the service for, with the field paths the REST door would give. */
import { expect } from "vitest";
import type { LoadBalancerSpec } from "../../../src/core/load-balancers.js";
import type { EndpointSpec, NetworkSpec, PortMappingSpec, SubnetSpec } from "../../../src/core/specs.js";
import type { ErrorCode } from "../../../src/errors.js";
import type { Network } from "../../../src/model/types.js";
import { rejection, storeSnapshot, uniqueName, type Harness } from "../harness.js";

export const subnet = (prefix: string, i = 0, gateway?: string): SubnetSpec => {
  const base = {
    prefix,
    prefixField: `Ipams[0].Subnets[${i}].IpAddressPrefix`,
    gatewayField: `Ipams[0].Subnets[${i}].Routes[0].NextHop`,
  };
  return gateway === undefined ? base : { ...base, gateway };
};

/** A load balancer of TCP port 80 to the backends' 8080, with the field paths of `POST /loadbalancers`. */
export const lbSpec = (
  name: string,
  vips: readonly string[],
  backends: readonly string[],
): LoadBalancerSpec => ({
  name,
  vips: vips.map((value, i) => ({ value, field: `FrontendVIPs[${String(i)}]` })),
  portMappings: [
    {
      protocol: "tcp",
      externalPort: { value: 80, field: "PortMappings[0].ExternalPort" },
      internalPort: { value: 8080, field: "PortMappings[0].InternalPort" },
      affinity: { value: false, field: "PortMappings[0].DistributionType" },
      localRoutedVip: false,
      keptFlags: 0,
    },
  ],
  backends: backends.map((ref, i) => ({ field: `HostComputeEndpoints[${String(i)}]`, ref })),
  dsr: { value: false, field: "Flags" },
  ipv6: { value: false, field: "Flags" },
  internal: false,
});

export const netSpec = (name: string, ...subnets: SubnetSpec[]): NetworkSpec => ({
  name,
  type: "NAT",
  subnets,
});

export const epSpec = (name: string, network: string, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({
  name,
  network,
  policies: [],
  ips: [],
  portMappings: [],
  ...extra,
});

export const mapping = (i: number, hostPort: number, internalPort = 80, hostIp?: string): PortMappingSpec => {
  const field = `Policies[${i}].Settings`;
  const base = {
    field,
    protocol: "tcp" as const,
    hostPort: { value: hostPort, field: `${field}.ExternalPort` },
    internalPort: { value: internalPort, field: `${field}.InternalPort` },
  };
  return hostIp === undefined ? base : { ...base, hostIp: { value: hostIp, field: `${field}.VIP` } };
};

export const ip = (i: number, address: string): { field: string; address: string } => ({
  field: `IpConfigurations[${i}].IpAddress`,
  address,
});

/**
 * Expects `spec` refused with `code` naming `field`, beside an endpoint "taken" (10.30.0.50, fd30::50, host
 * port 9090) on network n1 (10.30.0.0/24, fd30::/64): nothing recorded or applied, and the addresses the
 * request would have taken still free.
 */
export async function expectEndpointRefused(
  h: Harness,
  nsName: string,
  spec: EndpointSpec,
  code: ErrorCode,
  field: string | undefined,
): Promise<void> {
  await h.service.createEndpoint(
    epSpec("taken", "n1", {
      attach: { namespace: nsName },
      ips: [ip(0, "10.30.0.50"), ip(1, "fd30::50")],
      portMappings: [mapping(0, 9090)],
    }),
  );
  const before = storeSnapshot(h);
  const applied = h.kernel.applied.length;
  const err = await rejection(h.service.createEndpoint(spec));
  expect({ code: err.code, field: err.detail.field }).toEqual({ code, field });
  expect(storeSnapshot(h)).toEqual(before);
  expect(h.kernel.applied).toHaveLength(applied);
  // The addresses a refused request would have taken are still free.
  const next = await h.service.createEndpoint(epSpec("after", "n1"));
  expect(next.addresses.map((a) => a.address)).toEqual(["10.30.0.2", "fd30::2"]);
}

/** Network n1 (10.30.0.0/24, fd30::/64) and a namespace to attach to, where most endpoint tests start. */
export async function networkAndNamespace(h: Harness): Promise<{ net: Network; nsName: string }> {
  const net = await h.service.createNetwork(netSpec("n1", subnet("10.30.0.0/24"), subnet("fd30::/64", 1)));
  const nsName = uniqueName("c");
  await h.service.createNamespace({ name: nsName });
  return { net, nsName };
}
