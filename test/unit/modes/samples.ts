/** Networks, namespaces and endpoints as the store returns them, for mode tests. */
import type { NetworkSpec } from "../../../src/core/specs.js";
import {
  noDns,
  type Endpoint,
  type EndpointAddress,
  type Namespace,
  type Network,
  type NetworkType,
  type PortMapping,
  type UplinkSnapshot,
} from "../../../src/model/types.js";
import type { ModeHost } from "../../../src/modes/mode.js";

const NET_ID = "aaaa1111-0000-4000-8000-000000000001";
const NS_ID = "cccc3333-0000-4000-8000-000000000003";

export const dualNet: Network = {
  id: NET_ID,
  name: "n1",
  type: "NAT",
  shortId: "aaaa1111",
  mtu: 1500,
  interContainer: true,
  policies: [],
  createdAt: "2025-01-01T00:00:00.000Z",
  origin: null,
  adapter: null,
  uplink: null,
  ipam: "static",
  overlay: null,
  dns: noDns,
  resolver: true,
  subnets: [
    { id: 1, family: 4, prefix: "10.88.0.0/24", gateway: "10.88.0.1" },
    { id: 2, family: 6, prefix: "fd88::/64", gateway: "fd88::1" },
  ],
};

export const v4Net: Network = {
  ...dualNet,
  id: "dddd4444-0000-4000-8000-000000000004",
  name: "n4",
  shortId: "dddd4444",
  mtu: 9000,
  subnets: [{ id: 3, family: 4, prefix: "172.20.0.0/16", gateway: "172.20.0.254" }],
};

export const v6Net: Network = {
  ...dualNet,
  id: "eeee5555-0000-4000-8000-000000000005",
  name: "n6",
  shortId: "eeee5555",
  subnets: [{ id: 4, family: 6, prefix: "fd99::/64", gateway: "fd99::1" }],
};

export const ns: Namespace = { id: NS_ID, name: "c1", path: "/run/netns/c1", owned: true };

/** Another namespace hostnet made, named `name`. */
export const namespaceNamed = (name: string, n: number): Namespace => ({
  id: `cccc${n.toString(16).padStart(4, "0")}-0000-4000-8000-000000000000`,
  name,
  path: `/run/netns/${name}`,
  owned: true,
});
export const adopted: Namespace = {
  id: "ffff6666-0000-4000-8000-000000000006",
  name: "k8s",
  path: "/proc/42/ns/net",
  owned: false,
};

let next = 0;

/** An endpoint of `net` with one address per subnet (host number `host`), attached to `ns` as eth0. */
export function endpointOf(
  net: Network,
  opts: { host?: number; mappings?: PortMapping[]; attached?: Namespace | null; ifname?: string } = {},
): Endpoint {
  next++;
  const id = `${(0xb0000000 + next).toString(16)}-0000-4000-8000-${next.toString().padStart(12, "0")}`;
  const host = opts.host ?? 2;
  const addresses = net.subnets.map((s): EndpointAddress => {
    const [base, len] = s.prefix.split("/") as [string, string];
    const address =
      s.family === 4 ? base.replace(/\.0$/, `.${host}`) : `${base.replace(/::$/, "")}::${host.toString(16)}`;
    return { subnetId: s.id, family: s.family, address, prefixLength: Number(len) };
  });
  const attached = opts.attached === undefined ? ns : opts.attached;
  return {
    id,
    name: `e${next}`,
    networkId: net.id,
    shortId: id.slice(0, 8),
    mac: "02:00:00:00:00:02",
    policies: [],
    addresses,
    portMappings: opts.mappings ?? [],
    remoteHost: null,
    gatewayPriority: 0,
    dns: noDns,
    aliases: [],
    attachment:
      attached === null
        ? null
        : { kind: "namespace", namespaceId: attached.id, ifname: opts.ifname ?? "eth0", order: 1 },
  };
}

export const tcp = (hostPort: number, internalPort: number, hostIp: string | null = null): PortMapping => ({
  protocol: "tcp",
  hostIp,
  hostPort,
  internalPort,
});
export const udp = (hostPort: number, internalPort: number, hostIp: string | null = null): PortMapping => ({
  protocol: "udp",
  hostIp,
  hostPort,
  internalPort,
});

/** A NIC of the host as a LAN mode takes it. */
const lanUplink: UplinkSnapshot = {
  dev: "lan0",
  mac: "52:54:00:00:00:01",
  mtu: 1500,
  up: true,
  addresses: ["192.168.50.10/24"],
  routes: [{ family: 4, dst: "default", via: "192.168.50.1", metric: null }],
};

/** A host with an underlay address whose interface has MTU 1500, and `lanUplink` to take. */
export const modeHost: ModeHost = {
  hostAddress: "192.168.77.1",
  clustered: false,
  interfaceMtu: (address) => Promise.resolve(address === "192.168.77.1" ? 1500 : undefined),
  takeUplink: () => Promise.resolve(lanUplink),
};

/** A spec of a network of `type` with one IPv4 subnet, and `extra`. */
export const specOf = (type: NetworkType, extra: Partial<NetworkSpec> = {}): NetworkSpec => ({
  name: "n1",
  type,
  subnets: [{ prefix: "10.88.0.0/24", prefixField: "subnet", gatewayField: "gateway" }],
  ...extra,
});
