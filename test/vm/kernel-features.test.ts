/**
 * What the VLAN tests need of the guest's kernel, checked on its own so that a lane whose kernel lacks it
 * says so plainly: 802.1Q devices, bridges with vlan_filtering, and tc flower with the vlan action.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { must } from "../helpers/run.js";
import { createTopology, type Topology } from "../helpers/topology.js";

interface Link {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; vlan_filtering?: number } };
}

describe("the guest's stock kernel", () => {
  let t: Topology;
  const links = async (): Promise<Link[]> =>
    JSON.parse(await must(["ip", "-n", t.host, "-j", "-d", "link", "show"])) as Link[];

  beforeAll(async () => {
    t = await createTopology();
  });
  afterAll(() => t.destroy());

  it("is Debian's 6.1", async () => {
    expect((await must(["uname", "-r"])).trim()).toMatch(/^6\.1\.\d+-\d+-amd64$/);
  });

  it("makes 802.1Q devices", async () => {
    await must(["ip", "-n", t.host, "-batch", "-"], {
      input: "link add link up0 name up0.10 type vlan id 10\n",
    });
    const vlan = (await links()).find((l) => l.ifname === "up0.10");
    expect(vlan?.linkinfo).toMatchObject({ info_kind: "vlan", info_data: { id: 10 } });
  });

  it("filters VLANs on a bridge", async () => {
    await must(["ip", "-n", t.host, "-batch", "-"], {
      input:
        "link add vb0 type veth peer name vb1\nlink add br0 type bridge vlan_filtering 1\nlink set vb0 master br0\n",
    });
    await must(["bridge", "-n", t.host, "vlan", "add", "dev", "vb0", "vid", "20", "pvid", "untagged"]);
    const br = (await links()).find((l) => l.ifname === "br0");
    expect(br?.linkinfo?.info_data?.vlan_filtering).toBe(1);
    const ports = JSON.parse(await must(["bridge", "-n", t.host, "-j", "vlan", "show", "dev", "vb0"])) as {
      vlans: { vlan: number; flags?: string[] }[];
    }[];
    expect(ports[0]?.vlans).toContainEqual({ vlan: 20, flags: ["PVID", "Egress Untagged"] });
  });

  it("pushes VLAN tags with tc flower", async () => {
    await must(["tc", "-n", t.host, "-batch", "-"], {
      input:
        "qdisc add dev vb1 clsact\nfilter add dev vb1 egress protocol ip flower ip_proto icmp action vlan push id 30\n",
    });
    const filters = JSON.parse(
      await must(["tc", "-n", t.host, "-j", "filter", "show", "dev", "vb1", "egress"]),
    ) as { kind?: string; options?: { actions?: { kind?: string; vlan_action?: string; id?: number }[] } }[];
    const actions = filters.flatMap((f) => (f.kind === "flower" ? (f.options?.actions ?? []) : []));
    expect(actions).toEqual([expect.objectContaining({ kind: "vlan", vlan_action: "push", id: 30 })]);
  });
});
