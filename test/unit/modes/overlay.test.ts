import { describe, expect, it } from "vitest";
import { overlay } from "../../../src/modes/overlay.js";
import type { Network } from "../../../src/model/types.js";
import { endpointOf, ns, v4Net } from "./samples.js";

const net: Network = {
  ...v4Net,
  type: "Overlay",
  mtu: 1450,
  overlay: { vni: 4096, vxlanPort: 4789, localAddress: "192.168.77.1" },
};

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
    expect(objects.find((o) => o.kind === "bridge")).toMatchObject({ mac: "02:68:6e:dd:dd:44" });
  });

  it("give a local endpoint a NAT endpoint's objects, and a remote one only its static peer entries", () => {
    const local = endpointOf(net);
    expect(overlay.endpointObjects(local, net, ns).some((o) => o.kind === "veth")).toBe(true);
    const remote = { ...endpointOf(net, { attached: null }), remoteHost: "192.168.77.3" };
    expect(overlay.endpointObjects(remote, net, null)).toEqual([
      {
        kind: "overlayPeer",
        owner: `ep:${remote.id}`,
        vxlan: "hnx-dddd4444",
        bridge: "hnb-dddd4444",
        mac: remote.mac,
        address: remote.addresses[0]?.address,
        remote: "192.168.77.3",
      },
    ]);
  });
});
