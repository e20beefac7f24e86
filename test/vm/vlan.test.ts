/**
 * VLAN isolation on the stock kernel, with real packets: a Transparent network on VLAN 10 on a LAN of
 * namespaces (test/helpers/lan.ts, whose switch passes tags through) with one container on the network's
 * VLAN and one on its own VLAN 20. The LAN's hosts of each VLAN are namespaces with an 802.1Q device on
 * their NIC; the LAN host `lh` and the host itself are untagged. The host's uplink has a VLAN device of its
 * own, lan0.30, which must come through the network's life as it was.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { must } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";
import { createLan, HOST_LAN, LAN_HOST, lanNetwork, type Lan } from "../helpers/lan.js";
import { emulated } from "./lane.js";

/** The LAN's host of each VLAN, its address on its VLAN device, and the containers'. */
const V10 = "10.70.0.110";
const V20 = "10.70.0.120";
const C10 = "10.70.0.11";
const C20 = "10.70.0.12";
const B10 = "10.70.0.13";

/** Whether `ns` reaches `address`, trying a few times: emulated, the first ARP round may be slow. */
async function reaches(ns: string, address: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) if (await ping(ns, address)) return true;
  return false;
}

/** A LAN host on VLAN `vid`: a namespace on the switch, with `address` on its 802.1Q device. */
async function vlanHost(t: Topology, lan: Lan, name: string, vid: number, address: string): Promise<void> {
  const ns = t.ns(name);
  await must(["ip", "netns", "add", ns]);
  await must(["ip", "-n", lan.switchNs, "-batch", "-"], {
    input: `link add p-${name} type veth peer name eth0 netns ${ns}\nlink set p-${name} master br0 up\n`,
  });
  await must(["ip", "-n", ns, "-batch", "-"], {
    input: [
      "link set lo up",
      "link set eth0 mtu 1400 up",
      `link add link eth0 name eth0.${vid} type vlan id ${vid}`,
      `addr add ${address}/24 dev eth0.${vid}`,
      `link set eth0.${vid} up`,
      "",
    ].join("\n"),
  });
}

/** lan0 and its VLAN device as the kernel reports them. */
async function uplinkState(t: Topology): Promise<unknown> {
  const links = JSON.parse(await must(["ip", "-n", t.host, "-j", "-d", "addr", "show"])) as {
    ifname: string;
    address: string;
    mtu: number;
    master?: string;
    linkinfo?: { info_kind?: string; info_data?: { id?: number } };
    addr_info: { local: string; prefixlen: number; scope: string }[];
  }[];
  const vlans = JSON.parse(await must(["bridge", "-n", t.host, "-j", "vlan", "show"])) as {
    ifname: string;
  }[];
  return links
    .filter((l) => l.ifname.startsWith("lan0"))
    .map((l) => ({
      name: l.ifname,
      mac: l.address,
      mtu: l.mtu,
      master: l.master,
      kind: l.linkinfo?.info_kind,
      id: l.linkinfo?.info_data?.id,
      addresses: l.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
      bridgeVlans: vlans.some((v) => v.ifname === l.ifname),
    }));
}

describe("VLAN isolation on the stock kernel", () => {
  let lan: Lan;
  let before: unknown;
  const lab = useLab({
    ...emulated,
    async prepare(t) {
      lan = await createLan(t);
      await vlanHost(t, lan, "v10", 10, V10);
      await vlanHost(t, lan, "v20", 20, V20);
      await must(["ip", "-n", t.host, "-batch", "-"], {
        input:
          "link add link lan0 name lan0.30 type vlan id 30\naddr add 10.70.30.1/24 dev lan0.30\nlink set lan0.30 up\n",
      });
      before = await uplinkState(t);
    },
  });

  beforeAll(async () => {
    const net = lanNetwork("lan", "Transparent");
    await lab.d.ok("POST", "/networks", {
      ...net,
      Policies: [...(net["Policies"] as unknown[]), { Type: "VLAN", Settings: { IsolationId: 10 } }],
    });
    await lab.container("c10", "lan", { IpConfigurations: [{ IpAddress: C10 }] });
    await lab.container("c20", "lan", {
      IpConfigurations: [{ IpAddress: C20 }],
      Policies: [{ Type: "VLAN", Settings: { IsolationId: 20 } }],
    });
    for (const c of ["c10", "c20"]) lab.cleanup.track(await startEchoServers(lab.t.ns(c), 80));
  });

  it("carries each container's traffic on its VLAN: the LAN's hosts of that VLAN reach it, ping and TCP", async () => {
    const t = lab.t;
    expect(await reaches(t.ns("v10"), C10)).toBe(true);
    expect(await askTcp(t.ns("v10"), C10, 80)).toBe(V10);
    expect(await reaches(t.ns("v20"), C20)).toBe(true);
    expect(await askTcp(t.ns("v20"), C20, 80)).toBe(V20);
    expect(await reaches(t.ns("c10"), V10)).toBe(true);
  });

  it("keeps VLANs apart: neither the other VLAN's container or LAN host, nor the untagged LAN", async () => {
    const t = lab.t;
    expect(await ping(t.ns("c10"), C20)).toBe(false);
    expect(await askTcp(t.ns("c10"), C20, 80)).toBeUndefined();
    expect(await ping(t.ns("c20"), C10)).toBe(false);
    expect(await ping(t.ns("v20"), C10)).toBe(false);
    expect(await ping(t.ns("lh"), C10)).toBe(false);
    expect(await askTcp(t.ns("lh"), C20, 80)).toBeUndefined();
  });

  it("keeps the host's own untagged traffic on the LAN, and plans nothing more", async () => {
    expect(await reaches(lab.t.ns("lh"), HOST_LAN)).toBe(true);
    expect(await reaches(lab.t.host, LAN_HOST)).toBe(true);
    expect(await lab.plan()).toEqual([]);
  });

  it("leaves the uplink as it was when the network is deleted, its own VLAN device included", async () => {
    await lab.d.ok("DELETE", "/networks/lan?force=true");
    expect(await uplinkState(lab.t)).toEqual(before);
    expect(await reaches(lab.t.ns("lh"), HOST_LAN)).toBe(true);
    expect(await lab.plan()).toEqual([]);
  });

  it("puts an L2Bridge network's containers on its VLAN too, the LAN seeing the uplink's MAC", async () => {
    const t = lab.t;
    const [lan0] = JSON.parse(await must(["ip", "-n", t.host, "-j", "link", "show", "dev", "lan0"])) as {
      address: string;
    }[];
    const net = lanNetwork("l2", "L2Bridge");
    await lab.d.ok("POST", "/networks", {
      ...net,
      Policies: [...(net["Policies"] as unknown[]), { Type: "VLAN", Settings: { IsolationId: 10 } }],
    });
    await lab.container("b10", "l2", { IpConfigurations: [{ IpAddress: B10 }] });
    expect(await reaches(t.ns("v10"), B10)).toBe(true);
    expect(await must(["ip", "-n", t.ns("v10"), "neigh", "show", B10])).toContain(lan0?.address);
    expect(await ping(t.ns("lh"), B10)).toBe(false);
    expect(await lab.plan()).toEqual([]);
    await lab.d.ok("DELETE", "/networks/l2?force=true");
    expect(await uplinkState(t)).toEqual(before);
  });
});
