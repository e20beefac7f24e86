/** The pure functions that turn flags into request bodies, one per command that sends a body. */
import { describe, expect, it } from "vitest";
import { endpointAttachRequest, endpointCreateRequest } from "../../../src/cli/endpoint.js";
import { UsageError } from "../../../src/cli/errors.js";
import { namespaceCreateRequest } from "../../../src/cli/namespace.js";
import { networkCreateRequest } from "../../../src/cli/network.js";

describe("networkCreateRequest", () => {
  it("defaults to a NAT network and leaves the subnet to hostnetd", () => {
    expect(networkCreateRequest("web", {})).toStrictEqual({ Name: "web", Type: "NAT" });
  });

  it("maps docker-style type names to HNS ones and passes unknown types to hostnetd to judge", () => {
    expect(networkCreateRequest("a", { type: "nat" }).Type).toBe("NAT");
    expect(networkCreateRequest("a", { type: "NAT" }).Type).toBe("NAT");
    expect(networkCreateRequest("a", { type: "overlay" }).Type).toBe("overlay");
  });

  it("builds one static IPAM with a default route per gateway", () => {
    expect(
      networkCreateRequest("web", { subnet: ["172.20.0.0/16"], gateway: ["172.20.0.254"], mtu: "1450" }),
    ).toStrictEqual({
      Name: "web",
      Type: "NAT",
      Ipams: [
        {
          Type: "Static",
          Subnets: [
            {
              IpAddressPrefix: "172.20.0.0/16",
              Routes: [{ NextHop: "172.20.0.254", DestinationPrefix: "0.0.0.0/0" }],
            },
          ],
        },
      ],
      Mtu: 1450,
    });
  });

  it("pairs each gateway with the subnet of its family, whatever the order of the flags", () => {
    const body = networkCreateRequest("dual", {
      subnet: ["fd21::/64", "172.21.0.0/16"],
      gateway: ["172.21.0.1", "fd21::1"],
    });
    expect(body.Ipams?.[0]?.Subnets).toStrictEqual([
      { IpAddressPrefix: "fd21::/64", Routes: [{ NextHop: "fd21::1", DestinationPrefix: "::/0" }] },
      {
        IpAddressPrefix: "172.21.0.0/16",
        Routes: [{ NextHop: "172.21.0.1", DestinationPrefix: "0.0.0.0/0" }],
      },
    ]);
  });

  it("leaves out the route of a subnet without a gateway", () => {
    const body = networkCreateRequest("dual", {
      subnet: ["172.21.0.0/16", "fd21::/64"],
      gateway: ["fd21::1"],
    });
    expect(body.Ipams?.[0]?.Subnets).toStrictEqual([
      { IpAddressPrefix: "172.21.0.0/16" },
      { IpAddressPrefix: "fd21::/64", Routes: [{ NextHop: "fd21::1", DestinationPrefix: "::/0" }] },
    ]);
  });

  it.each([
    [{ gateway: ["172.20.0.1"] }, "--gateway needs a --subnet"],
    [{ subnet: ["172.20.0.0/16"], gateway: ["fd20::1"] }, "--gateway fd20::1 has no IPv6 --subnet"],
    [
      { subnet: ["172.20.0.0/16"], gateway: ["172.20.0.1", "172.20.0.2"] },
      "--gateway 172.20.0.2 has no IPv4",
    ],
    [{ subnet: ["172.20.0.0/16"], gateway: ["gw"] }, '--gateway "gw" is not an IP address'],
    [{ subnet: ["172.20.0.0"] }, '--subnet "172.20.0.0" is not a CIDR'],
    [{ subnet: ["nat/16"] }, '--subnet "nat/16" is not a CIDR'],
    [{ subnet: ["10.0.0.0/8/8"] }, '--subnet "10.0.0.0/8/8" is not a CIDR'],
    [{ mtu: "big" }, '--mtu "big" is not a positive integer'],
    [{ mtu: "-1" }, '--mtu "-1" is not a positive integer'],
  ])("rejects %j as a usage error", (values, message) => {
    const attempt = (): unknown => networkCreateRequest("web", values);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });
});

describe("namespaceCreateRequest", () => {
  it("creates, or adopts the namespace at --path", () => {
    expect(namespaceCreateRequest("web1", {})).toStrictEqual({ Name: "web1" });
    expect(namespaceCreateRequest("ctr", { path: "/proc/42/ns/net" })).toStrictEqual({
      Name: "ctr",
      Path: "/proc/42/ns/net",
    });
  });
});

describe("endpointCreateRequest", () => {
  it("sends only the network, and an empty policy list, when nothing else is given", () => {
    expect(endpointCreateRequest("web1", { network: "nat" })).toStrictEqual({
      Name: "web1",
      HostComputeNetwork: "nat",
      Policies: [],
    });
  });

  it("maps every flag to its HNS field", () => {
    expect(
      endpointCreateRequest("web1", {
        network: "dual",
        ip: ["172.21.0.10", "fd21::10"],
        mac: "02:00:00:00:00:10",
        namespace: "web1",
        ifname: "eth1",
        publish: ["8080:80", "127.0.0.1:5353:53/udp", "[::1]:8443:443/tcp"],
      }),
    ).toStrictEqual({
      Name: "web1",
      HostComputeNetwork: "dual",
      HostComputeNamespace: "web1",
      InterfaceName: "eth1",
      IpConfigurations: [{ IpAddress: "172.21.0.10" }, { IpAddress: "fd21::10" }],
      MacAddress: "02:00:00:00:00:10",
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8080 } },
        {
          Type: "PortMapping",
          Settings: { Protocol: "UDP", InternalPort: 53, ExternalPort: 5353, VIP: "127.0.0.1" },
        },
        {
          Type: "PortMapping",
          Settings: { Protocol: "TCP", InternalPort: 443, ExternalPort: 8443, VIP: "::1" },
        },
      ],
    });
  });

  it.each([
    [{}, "missing required option --network"],
    [{ network: "nat", ifname: "eth1" }, "--ifname needs --namespace"],
    [{ network: "nat", publish: ["8080"] }, '--publish "8080"'],
  ])("rejects %j as a usage error", (values, message) => {
    const attempt = (): unknown => endpointCreateRequest("web1", values);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });
});

describe("endpointAttachRequest", () => {
  it("needs a namespace; the interface name is optional", () => {
    expect(endpointAttachRequest({ namespace: "web1" })).toStrictEqual({ HostComputeNamespace: "web1" });
    expect(endpointAttachRequest({ namespace: "web1", ifname: "eth1" })).toStrictEqual({
      HostComputeNamespace: "web1",
      InterfaceName: "eth1",
    });
    expect(() => endpointAttachRequest({})).toThrow("missing required option --namespace");
  });
});
