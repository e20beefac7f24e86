import { describe, expect, it } from "vitest";
import { overlayBridgeMac } from "../../../src/model/overlay.js";
import { overlay } from "../../../src/modes/overlay.js";
import type { Network } from "../../../src/model/types.js";
import { addr, address, element, ifname } from "../../helpers/plan-ops.js";
import { runModeContract } from "./contract.js";
import { dualNet, endpointOf, ns, specOf, v4Net } from "./samples.js";

runModeContract(overlay, {
  spec: specOf("Overlay", {
    overlay: {
      vni: { value: 4096, field: "Policies[0].Settings.IsolationId" },
      port: { value: 4789, field: "Policies[1].Settings.Port" },
      overhead: { value: 50, field: "Policies[2].Settings.Overhead" },
    },
  }),
});

const settings = { vni: 4096, vxlanPort: 4789, localAddress: "192.168.77.1", sourceAddress: null };
const net: Network = { ...v4Net, type: "Overlay", mtu: 1450, overlay: settings };

describe("overlay networks", () => {
  it("are a NAT network whose bridge has a VXLAN port leaving from this host's underlay address", () => {
    const objects = overlay.networkObjects(net);
    expect(objects.filter((o) => o.kind === "vxlan")).toEqual([
      {
        kind: "vxlan",
        owner: `net:${net.id}`,
        name: "hnx-dddd4444",
        vni: 4096,
        port: 4789,
        local: "192.168.77.1",
        master: "hnb-dddd4444",
        mtu: 1450,
      },
    ]);
    expect(objects.some((o) => o.kind === "nftElement" && o.set === "masq4")).toBe(true);
    expect(objects.find((o) => o.kind === "bridge")).toMatchObject({ mac: "0a:68:c0:a8:4d:01" });
    expect(objects.some((o) => o.kind === "nftElement" && o.set === "overlaySource4")).toBe(false);
  });

  it("give the bridge a MAC of its host's own, whatever the network, and unlike any random endpoint MAC", () => {
    expect(overlayBridgeMac("192.168.77.2")).toBe("0a:68:c0:a8:4d:02");
    const v6 = overlayBridgeMac("2001:db8::1");
    expect(v6).toMatch(/^0a:68(:[0-9a-f]{2}){4}$/);
    expect(v6).not.toBe(overlayBridgeMac("2001:db8::2"));
  });

  it("put this host's source address on the bridge, and map the bridge to it for SNAT", () => {
    const claimed: Network = { ...net, overlay: { ...settings, sourceAddress: "172.20.0.9" } };
    const owner = `net:${net.id}` as const;
    const objects = overlay.networkObjects(claimed);
    expect(objects).toContainEqual(address(owner, null, "hnb-dddd4444", "172.20.0.9/32"));
    expect(objects).toContainEqual(
      element(owner, "overlaySource4", [ifname("hnb-dddd4444")], [addr("172.20.0.9")]),
    );
  });

  it("give a local endpoint a NAT endpoint's objects, and a remote one only its peer entries and remote mark", () => {
    const local = endpointOf(net);
    const localObjects = overlay.endpointObjects(local, net, ns);
    expect(localObjects.some((o) => o.kind === "veth")).toBe(true);
    expect(localObjects.some((o) => o.kind === "nftElement" && o.set === "overlayRemote4")).toBe(false);
    const remote = { ...endpointOf(net, { attached: null }), remoteHost: "192.168.77.3" };
    const ip = remote.addresses[0]?.address ?? "";
    expect(overlay.endpointObjects(remote, net, null)).toEqual([
      {
        kind: "overlayPeer",
        owner: `ep:${remote.id}`,
        vxlan: "hnx-dddd4444",
        bridge: "hnb-dddd4444",
        mac: remote.mac,
        addresses: [ip],
        remote: "192.168.77.3",
      },
      element(`ep:${remote.id}`, "overlayRemote4", [ifname("hnb-dddd4444"), addr(ip)]),
    ]);
  });

  it("give a dual-stack remote endpoint one peer with both addresses, and a remote mark for IPv4 only", () => {
    const dual: Network = { ...dualNet, type: "Overlay", mtu: 1450, overlay: settings };
    const remote = { ...endpointOf(dual, { attached: null }), remoteHost: "192.168.77.3" };
    const [v4, v6] = remote.addresses.map((a) => a.address);
    const objects = overlay.endpointObjects(remote, dual, null);
    expect(objects.filter((o) => o.kind === "overlayPeer")).toEqual([
      {
        kind: "overlayPeer",
        owner: `ep:${remote.id}`,
        vxlan: `hnx-${dual.shortId}`,
        bridge: `hnb-${dual.shortId}`,
        mac: remote.mac,
        addresses: [v4, v6],
        remote: "192.168.77.3",
      },
    ]);
    expect(objects.flatMap((o) => (o.kind === "nftElement" ? [o.set, o.key[1]] : []))).toEqual([
      "overlayRemote4",
      { t: "addr", v: v4 },
    ]);
  });

  it("take an IPv6 subnet: its gateway on the bridge, masqueraded like a NAT network's", () => {
    const dual: Network = { ...dualNet, type: "Overlay", mtu: 1450, overlay: settings };
    const objects = overlay.networkObjects(dual);
    const gw6 = dual.subnets.find((s) => s.family === 6);
    expect(objects).toContainEqual(
      expect.objectContaining({ kind: "address", cidr: `${gw6?.gateway ?? ""}/64` }),
    );
    expect(objects.some((o) => o.kind === "nftElement" && o.set === "masq6")).toBe(true);
    expect(overlay.families).toEqual([4, 6]);
  });
});
