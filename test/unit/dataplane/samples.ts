/**
 * Hand-built kernel objects of one NAT network with one attached dual-stack endpoint, for planner tests;
 * for the overlay kinds, its bridge also has a vxlan port with one remote peer.
 */
import type { Owner } from "../../../src/dataplane/naming.js";
import { defaultSkeleton, type KernelObject } from "../../../src/dataplane/objects.js";
import { skeletonVersion } from "../../../src/dataplane/render/nft.js";

export const NET_ID = "aaaa1111-0000-4000-8000-000000000001";
export const EP_ID = "bbbb2222-0000-4000-8000-000000000002";
export const NET: Owner = `net:${NET_ID}`;
export const EP: Owner = `ep:${EP_ID}`;
export const BRIDGE = "hnb-aaaa1111";
export const VETH = "hnv-bbbb2222";
export const NS = "/run/netns/c1";
export const VXLAN = "vx-aaaa1111";

export const table: KernelObject = {
  kind: "nftTable",
  owner: "global",
  family: "inet",
  version: skeletonVersion(),
  skeleton: defaultSkeleton,
};
export const forward: KernelObject = {
  kind: "sysctl",
  owner: "global",
  key: "net/ipv4/ip_forward",
  value: "1",
};
export const bridge: KernelObject = { kind: "bridge", owner: NET, name: BRIDGE, mtu: 1500 };
export const gw4: KernelObject = {
  kind: "address",
  owner: NET,
  netns: null,
  dev: BRIDGE,
  cidr: "10.0.0.1/24",
};
export const gw6: KernelObject = {
  kind: "address",
  owner: NET,
  netns: null,
  dev: BRIDGE,
  cidr: "fd00::1/64",
};
export const localnet: KernelObject = {
  kind: "sysctl",
  owner: NET,
  key: `net/ipv4/conf/${BRIDGE}/route_localnet`,
  value: "1",
};
export const natBridge: KernelObject = {
  kind: "nftElement",
  owner: NET,
  set: "natBridges",
  key: [{ t: "ifname", v: BRIDGE }],
  value: null,
};
export const masq4: KernelObject = {
  kind: "nftElement",
  owner: NET,
  set: "masq4",
  key: [{ t: "prefix", v: "10.0.0.0/24" }],
  value: null,
};
export const veth: KernelObject = {
  kind: "veth",
  owner: EP,
  name: VETH,
  master: BRIDGE,
  mtu: 1500,
  hairpin: true,
  isolated: false,
  peer: "eth0",
  netns: NS,
};
export const clink: KernelObject = {
  kind: "containerLink",
  owner: EP,
  netns: NS,
  name: "eth0",
  mac: "02:00:00:00:00:02",
};
export const addr4: KernelObject = {
  kind: "address",
  owner: EP,
  netns: NS,
  dev: "eth0",
  cidr: "10.0.0.2/24",
};
export const addr6: KernelObject = { kind: "address", owner: EP, netns: NS, dev: "eth0", cidr: "fd00::2/64" };
export const route4: KernelObject = {
  kind: "route",
  owner: EP,
  netns: NS,
  family: 4,
  dst: "default",
  via: "10.0.0.1",
  dev: "eth0",
};
export const route6: KernelObject = {
  kind: "route",
  owner: EP,
  netns: NS,
  family: 6,
  dst: "default",
  via: "fd00::1",
  dev: "eth0",
};
export const portmap: KernelObject = {
  kind: "nftElement",
  owner: EP,
  set: "portmap4",
  key: [
    { t: "proto", v: "tcp" },
    { t: "port", v: 8080 },
  ],
  value: [
    { t: "addr", v: "10.0.0.2" },
    { t: "port", v: 80 },
  ],
};

export const vxlan: KernelObject = {
  kind: "vxlan",
  owner: NET,
  name: VXLAN,
  vni: 4096,
  port: 4789,
  local: "192.0.2.1",
  master: BRIDGE,
  mtu: 1450,
};
export const peer: KernelObject = {
  kind: "overlayPeer",
  owner: NET,
  vxlan: VXLAN,
  bridge: BRIDGE,
  mac: "02:00:00:00:00:03",
  addresses: ["10.0.0.3"],
  remote: "192.0.2.2",
};

export const globals: readonly KernelObject[] = [table, forward];
export const network: readonly KernelObject[] = [bridge, gw4, gw6, localnet, natBridge, masq4];
export const endpoint: readonly KernelObject[] = [veth, clink, addr4, addr6, route4, route6, portmap];
export const overlay: readonly KernelObject[] = [vxlan, peer];
export const everything: readonly KernelObject[] = [...globals, ...network, ...overlay, ...endpoint];
