import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import { portVlansOf, type PortVlans } from "../../../src/dataplane/observe-vlans.js";

const veth = (name: string): KernelObject => ({
  kind: "veth",
  owner: `ep:${name}`,
  name,
  master: "hnb-1",
  mtu: 1500,
  hairpin: true,
  isolated: false,
  peer: "",
  netns: "",
});
const links: KernelObject[] = [
  { kind: "uplinkPort", owner: "net:1", dev: "lan0", master: "hnb-1" },
  veth("hnv-a"),
  veth("hnv-b"),
  veth("hnv-c"),
];
const pvid = (vlan: number) => ({ vlan, flags: ["PVID", "Egress Untagged"] });

describe("the VLANs of the ports of hostnet's filtering bridges", () => {
  it("reads each port's PVID and stray VLANs, and the uplink's trunk, compressed or one VLAN at a time", () => {
    const oneByOne = Array.from({ length: 4093 }, (_, i) => ({ vlan: i + 2 }));
    for (const trunk of [
      [pvid(1), { vlan: 2, vlanEnd: 4094 }],
      [pvid(1), ...oneByOne],
    ]) {
      const table: PortVlans[] = [
        { ifname: "hnb-1", vlans: [pvid(1)] },
        { ifname: "lan0", vlans: trunk },
        { ifname: "hnv-a", vlans: [pvid(10)] },
        { ifname: "hnv-b", vlans: [pvid(1)] },
        { ifname: "hnv-c", vlans: [{ vlan: 5, vlanEnd: 6 }, pvid(20)] },
      ];
      expect(portVlansOf(table, links, new Set(["hnb-1"]))).toEqual([
        {
          kind: "portVlan",
          owner: "ep:hnv-a",
          dev: "hnv-a",
          bridge: "hnb-1",
          uplink: "lan0",
          vid: 10,
          stray: [],
        },
        // hnv-b has the bridge's default, which is no portVlan.
        {
          kind: "portVlan",
          owner: "ep:hnv-c",
          dev: "hnv-c",
          bridge: "hnb-1",
          uplink: "lan0",
          vid: 20,
          stray: [5, 6],
        },
      ]);
    }
  });

  it("sees no trunk in an uplink that lacks a VLAN, and nothing on a bridge that does not filter", () => {
    const table: PortVlans[] = [
      { ifname: "lan0", vlans: [pvid(1), { vlan: 2, vlanEnd: 4093 }] },
      { ifname: "hnv-a", vlans: [pvid(10)] },
      { ifname: "hnv-b", vlans: [pvid(1)] },
    ];
    // A port without a VLAN (hnv-c) is not the bridge's default either.
    expect(portVlansOf(table, links, new Set(["hnb-1"]))).toMatchObject([
      { dev: "hnv-a", uplink: null, vid: 10 },
      { dev: "hnv-c", uplink: null, vid: 0, stray: [] },
    ]);
    expect(portVlansOf(table, links, new Set())).toEqual([]);
  });
});
