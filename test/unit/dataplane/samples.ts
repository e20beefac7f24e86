/**
 * Hand-built kernel objects of one NAT network with one attached dual-stack endpoint, for planner tests;
 * for the overlay kinds, its bridge also has a vxlan port with one remote peer.
 */
import type { Owner } from "../../../src/dataplane/naming.js";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import { skeletonVersion } from "../../../src/dataplane/render/nft.js";
import {
  addr,
  address,
  bridgeLink,
  defaultRoute,
  element,
  ifname,
  nftTable,
  port,
  prefix,
  proto,
  sysctl,
} from "../../helpers/plan-ops.js";

const NET_ID = "aaaa1111-0000-4000-8000-000000000001";
const EP_ID = "bbbb2222-0000-4000-8000-000000000002";
export const NET: Owner = `net:${NET_ID}`;
export const EP: Owner = `ep:${EP_ID}`;
export const BRIDGE = "hnb-aaaa1111";
export const VETH = "hnv-bbbb2222";
export const NS = "/run/netns/c1";
export const VXLAN = "vx-aaaa1111";

export const table = nftTable(skeletonVersion());
export const forward = sysctl("global", "net/ipv4/ip_forward", "1");
export const bridge = bridgeLink(NET, BRIDGE);
export const gw4 = address(NET, null, BRIDGE, "10.0.0.1/24");
export const gw6 = address(NET, null, BRIDGE, "fd00::1/64");
export const localnet = sysctl(NET, `net/ipv4/conf/${BRIDGE}/route_localnet`, "1");
export const natBridge = element(NET, "natBridges", [ifname(BRIDGE)]);
export const masq4 = element(NET, "masq4", [prefix("10.0.0.0/24")]);
export const veth = {
  kind: "veth",
  owner: EP,
  name: VETH,
  master: BRIDGE,
  mtu: 1500,
  hairpin: true,
  isolated: false,
  peer: "eth0",
  netns: NS,
} satisfies KernelObject;
export const clink = {
  kind: "containerLink",
  owner: EP,
  netns: NS,
  name: "eth0",
  mac: "02:00:00:00:00:02",
} satisfies KernelObject;
export const addr4 = address(EP, NS, "eth0", "10.0.0.2/24");
export const addr6 = address(EP, NS, "eth0", "fd00::2/64");
export const route4 = defaultRoute(EP, NS, "10.0.0.1", "eth0");
export const route6 = defaultRoute(EP, NS, "fd00::1", "eth0");
export const portmap = element(EP, "portmap4", [proto("tcp"), port(8080)], [addr("10.0.0.2"), port(80)]);

export const vxlan = {
  kind: "vxlan",
  owner: NET,
  name: VXLAN,
  vni: 4096,
  port: 4789,
  local: "192.0.2.1",
  master: BRIDGE,
  mtu: 1450,
} satisfies KernelObject;
export const peer = {
  kind: "overlayPeer",
  owner: NET,
  vxlan: VXLAN,
  bridge: BRIDGE,
  mac: "02:00:00:00:00:03",
  addresses: ["10.0.0.3"],
  remote: "192.0.2.2",
} satisfies KernelObject;

export const globals: readonly KernelObject[] = [table, forward];
export const network: readonly KernelObject[] = [bridge, gw4, gw6, localnet, natBridge, masq4];
export const endpoint: readonly KernelObject[] = [veth, clink, addr4, addr6, route4, route6, portmap];
export const overlay: readonly KernelObject[] = [vxlan, peer];
export const everything: readonly KernelObject[] = [...globals, ...network, ...overlay, ...endpoint];
