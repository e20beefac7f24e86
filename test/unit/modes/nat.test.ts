import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import { modes } from "../../../src/modes/index.js";
import { nat } from "../../../src/modes/nat.js";
import { runModeContract } from "./contract.js";
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
      { kind: "bridge", owner: NET, name: BRIDGE, mtu: 1500 },
      { kind: "address", owner: NET, netns: null, dev: BRIDGE, cidr: "10.88.0.1/24" },
      { kind: "address", owner: NET, netns: null, dev: BRIDGE, cidr: "fd88::1/64" },
      { kind: "sysctl", owner: NET, key: `net/ipv4/conf/${BRIDGE}/route_localnet`, value: "1" },
      { kind: "nftElement", owner: NET, set: "natBridges", key: [{ t: "ifname", v: BRIDGE }], value: null },
      {
        kind: "nftElement",
        owner: NET,
        set: "sameBridge",
        key: [
          { t: "ifname", v: BRIDGE },
          { t: "ifname", v: BRIDGE },
        ],
        value: null,
      },
      {
        kind: "nftElement",
        owner: NET,
        set: "masq4",
        key: [{ t: "prefix", v: "10.88.0.0/24" }],
        value: null,
      },
      {
        kind: "nftElement",
        owner: NET,
        set: "hairpin4",
        key: [
          { t: "ifname", v: BRIDGE },
          { t: "prefix", v: "10.88.0.0/24" },
        ],
        value: null,
      },
      { kind: "nftElement", owner: NET, set: "masq6", key: [{ t: "prefix", v: "fd88::/64" }], value: null },
      {
        kind: "nftElement",
        owner: NET,
        set: "hairpin6",
        key: [
          { t: "ifname", v: BRIDGE },
          { t: "prefix", v: "fd88::/64" },
        ],
        value: null,
      },
    ]);
  });

  it("uses the network's MTU and its gateway, which need not be the first address", () => {
    const objects = nat.networkObjects(v4Net);
    expect(objects[0]).toEqual({ kind: "bridge", owner: `net:${v4Net.id}`, name: "hnb-dddd4444", mtu: 9000 });
    expect(objects.filter((o) => o.kind === "address")).toEqual([
      {
        kind: "address",
        owner: `net:${v4Net.id}`,
        netns: null,
        dev: "hnb-dddd4444",
        cidr: "172.20.0.254/16",
      },
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
    const port = { t: "ifname", v: veth } as const;
    const objects = nat.endpointObjects(ep, dualNet, ns);
    expect(objects.filter((o) => o.kind === "nftElement")).toEqual<KernelObject[]>([
      { kind: "nftElement", owner: EP, set: "spoofMac", key: [port, { t: "ether", v: ep.mac }], value: null },
      {
        kind: "nftElement",
        owner: EP,
        set: "spoofIp4",
        key: [port, { t: "addr", v: "10.88.0.2" }],
        value: null,
      },
      {
        kind: "nftElement",
        owner: EP,
        set: "spoofIp6",
        key: [port, { t: "addr", v: "fd88::2" }],
        value: null,
      },
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
      { kind: "address", owner: EP, netns: "/run/netns/c1", dev: "eth0", cidr: "10.88.0.2/24" },
      {
        kind: "route",
        owner: EP,
        netns: "/run/netns/c1",
        family: 4,
        dst: "default",
        via: "10.88.0.1",
        dev: "eth0",
      },
      { kind: "address", owner: EP, netns: "/run/netns/c1", dev: "eth0", cidr: "fd88::2/64" },
      {
        kind: "route",
        owner: EP,
        netns: "/run/netns/c1",
        family: 6,
        dst: "default",
        via: "fd88::1",
        dev: "eth0",
      },
    ]);
  });

  it("lives in an adopted namespace by its path, under its own interface name and the network's MTU", () => {
    const ep = endpointOf(v4Net, { attached: adopted, ifname: "net1" });
    const objects = nat.endpointObjects(ep, v4Net, adopted);
    expect(objects[0]).toMatchObject({ kind: "veth", mtu: 9000, peer: "net1", netns: "/proc/42/ns/net" });
    expect(objects.filter((o) => o.kind === "route")).toEqual([
      {
        kind: "route",
        owner: `ep:${ep.id}`,
        netns: "/proc/42/ns/net",
        family: 4,
        dst: "default",
        via: "172.20.0.254",
        dev: "net1",
      },
    ]);
  });

  it("maps a port on every host address once per family, and relays [::1] to the IPv6 address", () => {
    const ep = endpointOf(dualNet, { mappings: [tcp(8080, 80)] });
    const EP = `ep:${ep.id}` as const;
    const extra = mappingObjects(nat.endpointObjects(ep, dualNet, ns));
    expect(extra).toEqual<KernelObject[]>([
      { kind: "loopbackProxy", owner: EP, protocol: "tcp", port: 8080, target: "fd88::2", targetPort: 80 },
      {
        kind: "nftElement",
        owner: EP,
        set: "portmap4",
        key: [
          { t: "proto", v: "tcp" },
          { t: "port", v: 8080 },
        ],
        value: [
          { t: "addr", v: "10.88.0.2" },
          { t: "port", v: 80 },
        ],
      },
      {
        kind: "nftElement",
        owner: EP,
        set: "portmap6",
        key: [
          { t: "proto", v: "tcp" },
          { t: "port", v: 8080 },
        ],
        value: [
          { t: "addr", v: "fd88::2" },
          { t: "port", v: 80 },
        ],
      },
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
      {
        kind: "nftElement",
        owner: `ep:${ep.id}`,
        set: "portmapIp4",
        key: [
          { t: "addr", v: "127.0.0.1" },
          { t: "proto", v: "udp" },
          { t: "port", v: 5353 },
        ],
        value: [
          { t: "addr", v: "10.88.0.2" },
          { t: "port", v: 53 },
        ],
      },
    ]);
  });

  it("maps a port bound to an IPv6 host address only in the IPv6 bound map", () => {
    const ep = endpointOf(dualNet, { mappings: [tcp(443, 8443, "2001:db8::5")] });
    expect(mappingObjects(nat.endpointObjects(ep, dualNet, ns))).toEqual<KernelObject[]>([
      {
        kind: "nftElement",
        owner: `ep:${ep.id}`,
        set: "portmapIp6",
        key: [
          { t: "addr", v: "2001:db8::5" },
          { t: "proto", v: "tcp" },
          { t: "port", v: 443 },
        ],
        value: [
          { t: "addr", v: "fd88::2" },
          { t: "port", v: 8443 },
        ],
      },
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
