import { describe, expect, it } from "vitest";
import type { Owner } from "../../../src/dataplane/naming.js";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import { bridgeMac } from "../../../src/modes/bridged.js";
import { modes } from "../../../src/modes/index.js";
import { nat } from "../../../src/modes/nat.js";
import {
  addr,
  address,
  bridgeLink,
  defaultRoute,
  element,
  ether,
  ifname,
  port,
  prefix,
  proto,
  sysctl,
} from "../../helpers/plan-ops.js";
import { runModeContract } from "./contract.js";

/**
 * The default route of an endpoint attached first with priority 0, and the routing of the replies from its
 * address `from` through its own table.
 */
function gatewayObjects(owner: Owner, netns: string, from: string, via: string, dev: string): KernelObject[] {
  const family = via.includes(":") ? 6 : 4;
  return [
    { ...defaultRoute(owner, netns, via, dev), metric: 101_000_001 },
    { ...defaultRoute(owner, netns, via, dev), table: 1001 },
    { kind: "routeRule", owner, netns, family, priority: 32000, from, table: 254, suppressPrefixLength: 0 },
    { kind: "routeRule", owner, netns, family, priority: 32001, from, table: 1001 },
  ];
}
import { adopted, dualNet, endpointOf, ns, tcp, udp, v4Net, v6Net } from "./samples.js";

runModeContract(nat);

const NET = `net:${dualNet.id}` as const;
const BRIDGE = "hnb-aaaa1111";

/** What port mappings add to an endpoint: map elements and ::1 relays. */
const mappingObjects = (objects: KernelObject[]): KernelObject[] =>
  objects.filter(
    (o) => o.kind === "loopbackProxy" || (o.kind === "nftElement" && o.set.startsWith("portmap")),
  );

describe("NAT mode", () => {
  it("is registered for type NAT and supports port mappings", () => {
    expect(modes.NAT).toBe(nat);
    expect(nat.type).toBe("NAT");
    expect(nat.portMappings).toBe(true);
  });
});

describe("NAT network objects", () => {
  it("a dual-stack network: bridge, gateway addresses, route_localnet, and its nft elements per family", () => {
    expect(nat.networkObjects(dualNet)).toEqual<KernelObject[]>([
      { ...bridgeLink(NET, BRIDGE), mac: bridgeMac(dualNet.id) },
      address(NET, null, BRIDGE, "10.88.0.1/24"),
      address(NET, null, BRIDGE, "fd88::1/64"),
      sysctl(NET, `net/ipv4/conf/${BRIDGE}/route_localnet`, "1"),
      element(NET, "natBridges", [ifname(BRIDGE)]),
      element(NET, "sameBridge", [ifname(BRIDGE), ifname(BRIDGE)]),
      element(NET, "masq4", [prefix("10.88.0.0/24")]),
      element(NET, "hairpin4", [ifname(BRIDGE), prefix("10.88.0.0/24")]),
      element(NET, "masq6", [prefix("fd88::/64")]),
      element(NET, "hairpin6", [ifname(BRIDGE), prefix("fd88::/64")]),
    ]);
  });

  it("gives the bridge a MAC of its own, so that no port's going changes it: unicast, local, one per network", () => {
    expect(bridgeMac(dualNet.id)).toMatch(/^06(:[0-9a-f]{2}){5}$/);
    expect(bridgeMac(dualNet.id)).toBe(bridgeMac(dualNet.id));
    expect(bridgeMac(v4Net.id)).not.toBe(bridgeMac(dualNet.id));
  });

  it("uses the network's MTU and its gateway, which need not be the first address", () => {
    const objects = nat.networkObjects(v4Net);
    expect(objects[0]).toEqual({
      ...bridgeLink(`net:${v4Net.id}`, "hnb-dddd4444", 9000),
      mac: bridgeMac(v4Net.id),
    });
    expect(objects.filter((o) => o.kind === "address")).toEqual([
      address(`net:${v4Net.id}`, null, "hnb-dddd4444", "172.20.0.254/16"),
    ]);
    expect(objects.filter((o) => o.kind === "nftElement").map((o) => o.set)).toEqual([
      "natBridges",
      "sameBridge",
      "masq4",
      "hairpin4",
    ]);
  });

  it("an IPv6-only network has only IPv6 masquerade and hairpin elements", () => {
    const sets = nat
      .networkObjects(v6Net)
      .filter((o) => o.kind === "nftElement")
      .map((o) => o.set);
    expect(sets).toEqual(["natBridges", "sameBridge", "masq6", "hairpin6"]);
  });
});

describe("NAT endpoint objects", () => {
  it("an endpoint without IPv6 addresses gets no IPv6 link-local address on hostnet's bridge", () => {
    const links = (ep: ReturnType<typeof endpointOf>, net: typeof v4Net): KernelObject[] =>
      nat.endpointObjects(ep, net, ns).filter((o) => o.kind === "containerLink");
    expect(links(endpointOf(v4Net), v4Net)).toEqual([expect.objectContaining({ noLinkLocal6: true })]);
    expect(links(endpointOf(v6Net), v6Net)).toEqual([expect.not.objectContaining({ noLinkLocal6: true })]);
    expect(links(endpointOf(dualNet), dualNet)).toEqual([
      expect.not.objectContaining({ noLinkLocal6: true }),
    ]);
  });

  it("an attached dual-stack endpoint: veth, container link, addresses and a default route per family", () => {
    const ep = endpointOf(dualNet);
    const EP = `ep:${ep.id}` as const;
    const veth = `hnv-${ep.shortId}`;
    const objects = nat.endpointObjects(ep, dualNet, ns);
    expect(objects.filter((o) => o.kind === "nftElement")).toEqual<KernelObject[]>([
      element(EP, "spoofMac", [ifname(veth), ether(ep.mac)]),
      element(EP, "spoofIp4", [ifname(veth), addr("10.88.0.2")]),
      element(EP, "spoofIp6", [ifname(veth), addr("fd88::2")]),
    ]);
    expect(objects.filter((o) => o.kind !== "nftElement")).toEqual<KernelObject[]>([
      {
        kind: "veth",
        owner: EP,
        name: veth,
        master: BRIDGE,
        mtu: 1500,
        hairpin: true,
        isolated: false,
        peer: "eth0",
        netns: "/run/netns/c1",
      },
      { kind: "containerLink", owner: EP, netns: "/run/netns/c1", name: "eth0", mac: "02:00:00:00:00:02" },
      address(EP, "/run/netns/c1", "eth0", "10.88.0.2/24"),
      ...gatewayObjects(EP, "/run/netns/c1", "10.88.0.2", "10.88.0.1", "eth0"),
      address(EP, "/run/netns/c1", "eth0", "fd88::2/64"),
      ...gatewayObjects(EP, "/run/netns/c1", "fd88::2", "fd88::1", "eth0"),
    ]);
  });

  it("ranks its default route by gateway priority, then by attach order, as a metric", () => {
    const metric = (gatewayPriority: number, order: number): number | undefined => {
      const attached = endpointOf(v4Net);
      const ep = {
        ...attached,
        gatewayPriority,
        attachment: { kind: "namespace", namespaceId: ns.id, ifname: "eth0", order } as const,
      };
      const routes = nat.endpointObjects(ep, v4Net, ns).filter((o) => o.kind === "route");
      return routes.find((r) => r.table === undefined)?.metric;
    };
    expect(metric(0, 1)).toBe(101_000_001);
    expect(metric(0, 2)).toBe(101_000_002);
    expect(metric(1, 3)).toBe(100_000_003);
    expect(metric(-100, 1)).toBe(201_000_001);
    expect(metric(100, 999_999)).toBe(1_999_999);
  });

  it("lives in an adopted namespace by its path, under its own interface name and the network's MTU", () => {
    const ep = endpointOf(v4Net, { attached: adopted, ifname: "net1" });
    const objects = nat.endpointObjects(ep, v4Net, adopted);
    expect(objects[0]).toMatchObject({ kind: "veth", mtu: 9000, peer: "net1", netns: "/proc/42/ns/net" });
    expect(objects.filter((o) => o.kind === "route" || o.kind === "routeRule")).toEqual(
      gatewayObjects(`ep:${ep.id}`, "/proc/42/ns/net", "172.20.0.2", "172.20.0.254", "net1"),
    );
  });

  it("maps a port on every host address once per family, and relays [::1] to the IPv6 address", () => {
    const ep = endpointOf(dualNet, { mappings: [tcp(8080, 80)] });
    const EP = `ep:${ep.id}` as const;
    const extra = mappingObjects(nat.endpointObjects(ep, dualNet, ns));
    expect(extra).toEqual<KernelObject[]>([
      { kind: "loopbackProxy", owner: EP, protocol: "tcp", port: 8080, target: "fd88::2", targetPort: 80 },
      element(EP, "portmap4", [proto("tcp"), port(8080)], [addr("10.88.0.2"), port(80)]),
      element(EP, "portmap6", [proto("tcp"), port(8080)], [addr("fd88::2"), port(80)]),
    ]);
  });

  it("relays [::1] to the IPv4 address when the network has no IPv6", () => {
    const ep = endpointOf(v4Net, { mappings: [udp(53, 5353)] });
    const proxies = nat.endpointObjects(ep, v4Net, ns).filter((o) => o.kind === "loopbackProxy");
    expect(proxies).toEqual([
      {
        kind: "loopbackProxy",
        owner: `ep:${ep.id}`,
        protocol: "udp",
        port: 53,
        target: "172.20.0.2",
        targetPort: 5353,
      },
    ]);
  });

  it("maps a port bound to an IPv4 host address only in the IPv4 bound map, with no relay", () => {
    const ep = endpointOf(dualNet, { mappings: [udp(5353, 53, "127.0.0.1")] });
    expect(mappingObjects(nat.endpointObjects(ep, dualNet, ns))).toEqual<KernelObject[]>([
      element(
        `ep:${ep.id}`,
        "portmapIp4",
        [addr("127.0.0.1"), proto("udp"), port(5353)],
        [addr("10.88.0.2"), port(53)],
      ),
    ]);
  });

  it("maps a port bound to an IPv6 host address only in the IPv6 bound map", () => {
    const ep = endpointOf(dualNet, { mappings: [tcp(443, 8443, "2001:db8::5")] });
    expect(mappingObjects(nat.endpointObjects(ep, dualNet, ns))).toEqual<KernelObject[]>([
      element(
        `ep:${ep.id}`,
        "portmapIp6",
        [addr("2001:db8::5"), proto("tcp"), port(443)],
        [addr("fd88::2"), port(8443)],
      ),
    ]);
  });

  it("serves a mapping bound to ::1 only by the relay", () => {
    const ep = endpointOf(dualNet, { mappings: [tcp(9000, 90, "::1")] });
    expect(mappingObjects(nat.endpointObjects(ep, dualNet, ns))).toEqual<KernelObject[]>([
      {
        kind: "loopbackProxy",
        owner: `ep:${ep.id}`,
        protocol: "tcp",
        port: 9000,
        target: "fd88::2",
        targetPort: 90,
      },
    ]);
  });

  it("has one element per mapping and family for many mappings", () => {
    const mappings = Array.from({ length: 20 }, (_, i) => tcp(10000 + i, 80));
    const ep = endpointOf(dualNet, { mappings });
    const elements = mappingObjects(nat.endpointObjects(ep, dualNet, ns)).filter(
      (o) => o.kind === "nftElement",
    );
    expect(elements).toHaveLength(40);
  });

  // A detached endpoint must not DNAT to an address no interface has, nor relay ::1 to it.
  it("a detached endpoint has no objects, even with port mappings", () => {
    const ep = endpointOf(dualNet, { attached: null, mappings: [tcp(8080, 80), tcp(8443, 443, "10.0.0.1")] });
    expect(nat.endpointObjects(ep, dualNet, ns)).toEqual([]);
  });

  it("a detached endpoint without port mappings has no objects", () => {
    const ep = endpointOf(dualNet, { attached: null });
    expect(nat.endpointObjects(ep, dualNet, ns)).toEqual([]);
  });
});
