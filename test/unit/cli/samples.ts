/** API answers as hostnetd gives them, for the CLI tests to serve and format. */
import type {
  EndpointWire as Endpoint,
  NamespaceWire as Namespace,
  NetworkWire as Network,
} from "../../../src/api/rest/wire.js";

const schema = { Major: 2, Minor: 16 };

export const natNetwork: Network = {
  ID: "3f2a9c1e-7b6d-4e0f-9a8b-1c2d3e4f5a6b",
  Name: "nat",
  Type: "NAT",
  Ipams: [
    {
      Type: "Static",
      Subnets: [
        {
          IpAddressPrefix: "172.17.0.0/16",
          Routes: [{ NextHop: "172.17.0.1", DestinationPrefix: "0.0.0.0/0" }],
        },
      ],
    },
  ],
  Mtu: 1500,
  InterContainer: true,
  Bridge: "hnb-3f2a9c1e",
  Policies: [],
  Dns: { Search: [], ServerList: [], Options: [] },
  DnsResolver: true,
  Flags: 0,
  SchemaVersion: schema,
  CreatedAt: "2025-01-01T00:00:00.000Z",
};

export const dualNetwork: Network = {
  ...natNetwork,
  ID: "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a",
  Name: "dual-stack",
  Ipams: [
    {
      Type: "Static",
      Subnets: [
        {
          IpAddressPrefix: "172.21.0.0/16",
          Routes: [{ NextHop: "172.21.0.1", DestinationPrefix: "0.0.0.0/0" }],
        },
        { IpAddressPrefix: "fd21::/64", Routes: [{ NextHop: "fd21::1", DestinationPrefix: "::/0" }] },
      ],
    },
  ],
  Bridge: "hnb-8d7c6b5a",
};

export const web1Namespace: Namespace = {
  ID: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
  Name: "web1",
  Path: "/run/netns/web1",
  Type: "Guest",
  Owned: true,
  Resources: [{ Type: "Endpoint", Id: "01234567-89ab-4def-8123-456789abcdef" }],
  SchemaVersion: schema,
};

export const adoptedNamespace: Namespace = {
  ...web1Namespace,
  ID: "f0e1d2c3-b4a5-4968-8776-655443322110",
  Name: "ctr",
  Path: "/proc/4242/ns/net",
  Owned: false,
  Resources: [],
};

export const web1Endpoint: Endpoint = {
  ID: "01234567-89ab-4def-8123-456789abcdef",
  Name: "web1",
  HostComputeNetwork: natNetwork.ID,
  HostComputeNamespace: web1Namespace.ID,
  InterfaceName: "eth0",
  HostInterfaceName: "hnv-01234567",
  IpConfigurations: [{ IpAddress: "172.17.0.2", PrefixLength: 16 }],
  MacAddress: "02:42:ac:11:00:02",
  GwPriority: 0,
  Routes: [{ NextHop: "172.17.0.1", DestinationPrefix: "0.0.0.0/0" }],
  Policies: [
    { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } },
    { Type: "PortMapping", Settings: { Protocol: 17, InternalPort: 53, ExternalPort: 5353, VIP: "::1" } },
  ],
  Dns: { Search: [], ServerList: [], Options: [] },
  Aliases: [],
  Flags: 0,
  SchemaVersion: schema,
};

export const detachedEndpoint: Endpoint = {
  ...web1Endpoint,
  ID: "fedcba98-7654-4210-8edc-ba9876543210",
  Name: "spare",
  HostComputeNetwork: dualNetwork.ID,
  HostComputeNamespace: null,
  InterfaceName: null,
  IpConfigurations: [
    { IpAddress: "172.21.0.2", PrefixLength: 16 },
    { IpAddress: "fd21::2", PrefixLength: 64 },
  ],
  MacAddress: "02:42:ac:15:00:02",
  Policies: [],
};

/** An endpoint with a port mapping and one policy of each kind `policy ls` has a way to show. */
export const guardedEndpoint: Endpoint = {
  ...web1Endpoint,
  Policies: [
    { Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } },
    {
      Type: "ACL",
      Settings: {
        Action: "Allow",
        Direction: "In",
        Protocols: "6",
        LocalAddresses: "",
        RemoteAddresses: "10.0.0.0/8,fd00::/8",
        LocalPorts: "22,8000-8080",
        RemotePorts: "",
        Priority: 100,
      },
    },
    {
      Type: "ACL",
      Settings: {
        Action: "Block",
        Direction: "Out",
        Protocols: "17",
        LocalAddresses: "172.17.0.2",
        RemoteAddresses: "",
        LocalPorts: "",
        RemotePorts: "53",
        Priority: 10,
      },
    },
    {
      Type: "QOS",
      Settings: { MaximumOutgoingBandwidthInBytes: 1_000_000, MaximumIncomingBandwidthInBytes: 1_048_576 },
    },
    { Type: "SDNRoute", Settings: { DestinationPrefix: "198.51.100.0/24", NextHop: "172.17.0.50" } },
    { Type: "OutBoundNAT", Settings: { Exceptions: ["10.0.0.0/8"] } },
  ],
};

/** A routed overlay network as hostnetd shows it: its VXLAN's policies, then a route to another host's subnet. */
export const overlayNetwork: Network = {
  ...natNetwork,
  ID: "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716",
  Name: "vxlan0",
  Type: "Overlay",
  Ipams: [
    {
      Type: "Static",
      Subnets: [
        {
          IpAddressPrefix: "10.244.1.0/24",
          Routes: [{ NextHop: "10.244.1.1", DestinationPrefix: "0.0.0.0/0" }],
        },
      ],
    },
  ],
  Mtu: 1450,
  Bridge: "hnb-5e4d3c2b",
  DrMacAddress: "0a:68:c0:a8:4d:01",
  Policies: [
    { Type: "VSID", Settings: { IsolationId: 4096 } },
    { Type: "VxlanPort", Settings: { Port: 4789 } },
    {
      Type: "RemoteSubnetRoute",
      Settings: {
        DestinationPrefix: "10.244.2.0/24",
        IsolationId: 4096,
        ProviderAddress: "192.168.77.2",
        DistributedRouterMacAddress: "0a:68:c0:a8:4d:02",
      },
    },
  ],
};
