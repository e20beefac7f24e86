/** The pure functions that turn flags into request bodies, one per command that sends a body. */
import type { TSchema } from "typebox";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import { LoadBalancerRequest } from "../../../src/api/rest/load-balancers.js";
import {
  AttachRequest,
  EndpointRequest,
  NamespaceRequest,
  NetworkRequest,
} from "../../../src/api/rest/wire.js";
import { lbCreateRequest } from "../../../src/cli/lb.js";
import { endpointAttachRequest, endpointCreateRequest } from "../../../src/cli/endpoint.js";
import { UsageError } from "../../../src/cli/errors.js";
import { namespaceCreateRequest } from "../../../src/cli/namespace.js";
import { networkCreateRequest } from "../../../src/cli/network.js";
import {
  listedNetworkPolicies,
  listedPolicies,
  policiesOf,
  policyAddition,
  policyRemoval,
  policySetRequest,
} from "../../../src/cli/policy.js";
import { HostnetError } from "../../../src/errors.js";
import { parsePolicy } from "../../../src/policies/parse.js";
import { policyView } from "../../../src/policies/view.js";
import { guardedEndpoint, natNetwork, overlayNetwork } from "./samples.js";

describe("networkCreateRequest", () => {
  it("defaults to a NAT network and leaves the subnet to hostnetd", () => {
    expect(networkCreateRequest("web", {})).toStrictEqual({ Name: "web", Type: "NAT" });
  });

  it("maps docker-style type names to HNS ones and passes unknown types to hostnetd to judge", () => {
    expect(networkCreateRequest("a", { type: "nat" }).Type).toBe("NAT");
    expect(networkCreateRequest("a", { type: "NAT" }).Type).toBe("NAT");
    expect(networkCreateRequest("a", { type: "overlay" }).Type).toBe("Overlay");
    expect(networkCreateRequest("a", { type: "ics" }).Type).toBe("ics");
  });

  it("turns --vni, --vxlan-port and --encap-overhead into the overlay's policies", () => {
    expect(
      networkCreateRequest("ov", {
        type: "overlay",
        vni: "4096",
        "vxlan-port": "4790",
        "encap-overhead": "70",
      }).Policies,
    ).toStrictEqual([
      { Type: "VSID", Settings: { IsolationId: 4096 } },
      { Type: "VxlanPort", Settings: { Port: 4790 } },
      { Type: "EncapOverhead", Settings: { Overhead: 70 } },
    ]);
    expect(() => networkCreateRequest("ov", { "encap-overhead": "-5" })).toThrow(/--encap-overhead/);
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

/** Settings as parseAcl writes them for `action=allow,dir=in` and `…,proto=tcp,lport=22`. */
const anyRule = {
  Action: "Allow",
  Direction: "In",
  Protocols: "",
  LocalAddresses: "",
  RemoteAddresses: "",
  LocalPorts: "",
  RemotePorts: "",
  Priority: 100,
};
const allowSsh = { ...anyRule, Protocols: "6", LocalPorts: "22" };
const ssh = "action=allow,dir=in,proto=tcp,lport=22";

describe("endpointCreateRequest", () => {
  it("declares another host's endpoint with --remote, its host with --provider-address", () => {
    expect(
      endpointCreateRequest("pod-b1", {
        network: "vxlan0",
        ip: ["10.244.2.5"],
        remote: true,
        "provider-address": "192.168.77.2",
      }),
    ).toStrictEqual({
      Name: "pod-b1",
      HostComputeNetwork: "vxlan0",
      IpConfigurations: [{ IpAddress: "10.244.2.5" }],
      Flags: 1,
      Policies: [{ Type: "ProviderAddress", Settings: { ProviderAddress: "192.168.77.2" } }],
    });
    expect(() =>
      endpointCreateRequest("pod-b1", { network: "vxlan0", "provider-address": "192.168.77.2" }),
    ).toThrow("--provider-address needs --remote");
  });

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
        "gw-priority": "-5",
        publish: ["8080:80", "127.0.0.1:5353:53/udp", "[::1]:8443:443/tcp"],
      }),
    ).toStrictEqual({
      Name: "web1",
      HostComputeNetwork: "dual",
      HostComputeNamespace: "web1",
      InterfaceName: "eth1",
      IpConfigurations: [{ IpAddress: "172.21.0.10" }, { IpAddress: "fd21::10" }],
      MacAddress: "02:00:00:00:00:10",
      GwPriority: -5,
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

  it("refuses a gateway priority that is not an integer, naming the flag", () => {
    expect(() => endpointCreateRequest("web1", { network: "nat", "gw-priority": "high" })).toThrow(
      new UsageError('--gw-priority "high" is not an integer'),
    );
  });

  it("adds the ACLs and then one QOS after the port mappings", () => {
    expect(
      endpointCreateRequest("db", {
        network: "nat",
        publish: ["5432:5432"],
        acl: [
          "action=allow,dir=in,proto=tcp,lport=5432,raddr=172.17.0.0/16",
          "action=block,dir=out,prio=200",
        ],
        "qos-out": "10MB",
        "qos-in": "8Mbit",
      }).Policies,
    ).toStrictEqual([
      { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 5432, ExternalPort: 5432 } },
      { Type: "ACL", Settings: { ...allowSsh, RemoteAddresses: "172.17.0.0/16", LocalPorts: "5432" } },
      { Type: "ACL", Settings: { ...anyRule, Action: "Block", Direction: "Out", Priority: 200 } },
      {
        Type: "QOS",
        Settings: { MaximumOutgoingBandwidthInBytes: 10_000_000, MaximumIncomingBandwidthInBytes: 1_000_000 },
      },
    ]);
  });

  it.each([
    [{}, "missing required option --network"],
    [{ network: "nat", ifname: "eth1" }, "--ifname needs --namespace"],
    [{ network: "nat", publish: ["8080"] }, '--publish "8080"'],
    [{ network: "nat", acl: ["action=allow"] }, '--acl "action=allow": missing dir=in|out'],
    [{ network: "nat", "qos-in": "1XB" }, '--qos-in "1XB": unit "XB"'],
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

describe("policiesOf", () => {
  it("gives nothing for no flags, and one QOS for either rate or both", () => {
    expect(policiesOf({})).toStrictEqual([]);
    expect(policiesOf({ "qos-in": "1KiB" })).toStrictEqual([
      { Type: "QOS", Settings: { MaximumIncomingBandwidthInBytes: 1024 } },
    ]);
    expect(policiesOf({ "qos-out": "1GB" })).toStrictEqual([
      { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000_000 } },
    ]);
  });

  it("writes a QOS in the form hostnetd shows it", () => {
    for (const values of [{ "qos-out": "1MB", "qos-in": "2MiB" }, { "qos-in": "100kbit" }]) {
      const [qos] = policiesOf(values);
      if (qos === undefined) throw new Error("no QOS");
      expect(policyView(parsePolicy("Policies[0]", qos.Type, qos.Settings, "endpoint"))).toStrictEqual(qos);
    }
  });
});

describe("policyAddition and policySetRequest", () => {
  it("send the flags' policies as Add and as Update", () => {
    const values = { acl: [ssh], "qos-out": "1MB" };
    const policies = [
      { Type: "ACL", Settings: allowSsh },
      { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000 } },
    ];
    const addition = policyAddition(values);
    expect(addition.readsNetwork).toBe(false);
    expect(addition.request("web1", [])).toStrictEqual({ RequestType: "Add", Policies: policies });
    expect(policySetRequest(values)).toStrictEqual({ RequestType: "Update", Policies: policies });
  });

  it("refuse to send nothing: an empty Update would clear every rule", () => {
    expect(() => policyAddition({})).toThrow(
      new UsageError(
        "nothing to add: give --acl, --qos-out, --qos-in, --vlan or, with --network, --remote-subnet",
      ),
    );
    expect(() => policySetRequest({ acl: [] })).toThrow(UsageError);
    expect(() => policySetRequest({})).toThrow("'hostnet policy rm ENDPOINT --all' removes every policy");
  });
});

describe("policyAddition of a remote subnet", () => {
  const route = { "remote-subnet": "10.244.3.0/24", provider: "192.168.77.3", network: true };

  it("reads the network for its VSID and sends a RemoteSubnetRoute the API accepts", () => {
    const addition = policyAddition(route);
    expect(addition.readsNetwork).toBe(true);
    const request = addition.request("vxlan0", overlayNetwork.Policies);
    const settings = {
      DestinationPrefix: "10.244.3.0/24",
      IsolationId: 4096,
      ProviderAddress: "192.168.77.3",
    };
    expect(request).toStrictEqual({
      RequestType: "Add",
      Policies: [{ Type: "RemoteSubnetRoute", Settings: settings }],
    });
    expect(parsePolicy("Policies[0]", "RemoteSubnetRoute", settings, "network")).toMatchObject({
      destinationPrefix: "10.244.3.0/24",
      isolationId: 4096,
    });
  });

  it("passes --router-mac as written, writes the subnet as its network address, and goes with other flags", () => {
    const addition = policyAddition({
      ...route,
      "remote-subnet": "10.244.3.77/24",
      "router-mac": "0A-68-C0-A8-4D-03",
      "qos-out": "1MB",
    });
    expect(addition.request("vxlan0", overlayNetwork.Policies).Policies).toStrictEqual([
      { Type: "QOS", Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000 } },
      {
        Type: "RemoteSubnetRoute",
        Settings: {
          DestinationPrefix: "10.244.3.0/24",
          IsolationId: 4096,
          ProviderAddress: "192.168.77.3",
          DistributedRouterMacAddress: "0A-68-C0-A8-4D-03",
        },
      },
    ]);
    expect(
      policyAddition({ ...route, "remote-subnet": "0.0.0.0/0" }).request("v", overlayNetwork.Policies),
    ).toMatchObject({ Policies: [{ Settings: { DestinationPrefix: "0.0.0.0/0" } }] });
  });

  it.each([
    [
      { "remote-subnet": "10.244.3.0/24", provider: "192.168.77.3" },
      "--remote-subnet is a network's policy: give --network",
    ],
    [
      { "remote-subnet": "10.244.3.0/24", network: true },
      "--remote-subnet needs --provider, its host's address",
    ],
    [{ provider: "192.168.77.3", network: true }, "--provider and --router-mac go with --remote-subnet"],
    [{ "router-mac": "0a:68:c0:a8:4d:03" }, "--provider and --router-mac go with --remote-subnet"],
    [{ ...route, provider: "host3" }, '--provider "host3" is not an IP address'],
    [{ ...route, "remote-subnet": "fd44::/64" }, '--remote-subnet "fd44::/64" is not an IPv4 prefix'],
    [{ ...route, "remote-subnet": "10.244.3.0" }, "is not an IPv4 prefix such as 10.244.2.0/24"],
    [{ ...route, "remote-subnet": "10.244.3.0/33" }, "is not an IPv4 prefix"],
    [{ ...route, "router-mac": "0a:68:c0:a8:4d" }, '--router-mac "0a:68:c0:a8:4d" is not a MAC address'],
  ])("rejects %j as a usage error, before reading anything", (values, message) => {
    const attempt = (): unknown => policyAddition(values);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it("refuses a network without a VSID after reading it, as hostnetd would", () => {
    const attempt = (): unknown => policyAddition(route).request("nat", natNetwork.Policies);
    expect(attempt).toThrow(HostnetError);
    expect(attempt).toThrow(
      '--remote-subnet: network "nat" has no VSID: remote subnets are routed on Overlay',
    );
  });
});

describe("listedNetworkPolicies", () => {
  it("leaves out what the network was created with, which no policy request changes", () => {
    expect(listedNetworkPolicies(overlayNetwork)).toStrictEqual(overlayNetwork.Policies.slice(2));
    const transparent = {
      ...natNetwork,
      Policies: [{ Type: "NetAdapterName", Settings: { NetworkAdapterName: "eth1" } }],
    };
    expect(listedNetworkPolicies(transparent)).toStrictEqual([]);
  });
});

describe("policyRemoval", () => {
  const listed = listedPolicies(guardedEndpoint);
  const ep = 'endpoint "web1"';

  it("sends --acl and --qos-out/--qos-in as written, without reading the endpoint", () => {
    const removal = policyRemoval({ acl: [ssh], "qos-in": "1MiB" });
    expect(removal.readsPolicies).toBe(false);
    expect(removal.request(ep, [])).toStrictEqual({
      RequestType: "Remove",
      Policies: [
        { Type: "ACL", Settings: allowSsh },
        { Type: "QOS", Settings: { MaximumIncomingBandwidthInBytes: 1_048_576 } },
      ],
    });
  });

  it("sends back the exact policies --index and --qos name, once each", () => {
    const removal = policyRemoval({ index: ["2", "1", "2"], qos: true });
    expect(removal.readsPolicies).toBe(true);
    expect(removal.request(ep, listed)).toStrictEqual({
      RequestType: "Remove",
      Policies: [listed[2], listed[1], listed[0]],
    });
  });

  it("finds --remote-subnet in the network's policies and sends it back exactly as hostnetd showed it", () => {
    const routes = listedNetworkPolicies(overlayNetwork);
    const removal = policyRemoval({ "remote-subnet": "10.244.2.9/24", network: true });
    expect(removal.readsPolicies).toBe(true);
    expect(removal.request('network "vxlan0"', routes)).toStrictEqual({
      RequestType: "Remove",
      Policies: routes,
    });
    const other = policyRemoval({ "remote-subnet": "10.244.3.0/24", network: true });
    expect(() => other.request('network "vxlan0"', routes)).toThrow(
      new HostnetError("NotFound", '--remote-subnet: network "vxlan0" has no route to 10.244.3.0/24'),
    );
  });

  it("clears every policy with --all, as an Update to none", () => {
    const removal = policyRemoval({ all: true });
    expect(removal.readsPolicies).toBe(false);
    expect(removal.request(ep, [])).toStrictEqual({ RequestType: "Update", Policies: [] });
  });

  it.each([
    [
      {},
      "nothing to remove: give --index, --acl, --qos, --qos-out, --qos-in, --all or, with --network, --remote-subnet",
    ],
    [{ index: [] }, "nothing to remove"],
    [{ index: ["0"] }, '--index "0" is not a number from 1 up'],
    [{ index: ["first"] }, '--index "first" is not a number from 1 up'],
    [{ index: ["-1"] }, '--index "-1" is not'],
    [{ qos: true, "qos-out": "1MB" }, "--qos takes the QoS policy out whatever its rates"],
    [{ all: true, index: ["1"] }, "--all removes every policy: give it alone"],
    [{ all: true, qos: true }, "--all removes every policy"],
    [{ all: true, acl: [ssh] }, "--all removes every policy"],
    [{ "remote-subnet": "10.244.2.0/24" }, "--remote-subnet is a network's policy: give --network"],
    [{ "remote-subnet": "10.244.2.0/24", network: true, all: true }, "--all removes every policy"],
    [{ "remote-subnet": "10.244.2.0/33", network: true }, '--remote-subnet "10.244.2.0/33" is not'],
    [{ acl: ["action=allow,dir=in,lport=x"] }, '--acl "action=allow,dir=in,lport=x": lport "x"'],
  ])("rejects %j as a usage error, before reading anything", (values, message) => {
    const attempt = (): unknown => policyRemoval(values);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });

  it.each([
    [{ index: ["6"] }, listed, '--index 6: endpoint "web1" has 5 policies'],
    [{ index: ["1"] }, [], '--index 1: endpoint "web1" has no policies'],
    [{ index: ["2"] }, listed.slice(0, 1), '--index 2: endpoint "web1" has 1 policy'],
    [{ qos: true }, listed.slice(0, 2), '--qos: endpoint "web1" has no QoS policy'],
  ])("%j names what the endpoint does not have: NotFound", (values, policies, message) => {
    const attempt = (): unknown => policyRemoval(values).request(ep, policies);
    expect(attempt).toThrow(HostnetError);
    expect(attempt).toThrow(message);
  });
});

describe("request bodies and the REST schemas", () => {
  it("every body the CLI builds, with every option, is one hostnetd's closed schemas accept", () => {
    const bodies: [TSchema, unknown][] = [
      [
        NetworkRequest,
        networkCreateRequest("ov", {
          type: "overlay",
          vni: "4096",
          subnet: ["10.1.0.0/24"],
          gateway: ["10.1.0.254"],
        }),
      ],
      [
        EndpointRequest,
        endpointCreateRequest("ep", {
          network: "n",
          namespace: "ns",
          ifname: "eth1",
          ip: ["10.1.0.5"],
          mac: "02:00:00:00:00:05",
          publish: ["8080:80"],
        }),
      ],
      [AttachRequest, endpointAttachRequest({ namespace: "ns", ifname: "eth1" })],
      [NamespaceRequest, namespaceCreateRequest("ns", { path: "/run/netns/x" })],
      [
        LoadBalancerRequest,
        lbCreateRequest("web", {
          vip: ["198.51.100.10"],
          port: ["80:8080/udp"],
          backend: ["ep"],
          affinity: true,
          "source-vip": "10.1.0.9",
        }),
      ],
    ];
    for (const [schema, body] of bodies) expect(Value.Errors(schema, body)).toEqual([]);
  });
});
