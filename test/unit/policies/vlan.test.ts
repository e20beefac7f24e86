import { describe, expect, it } from "vitest";
import type { KernelFeatures } from "../../../src/model/kernel-features.js";
import { vlan } from "../../../src/policies/vlan.js";
import { FakeUplinks, harness, rejection, uniqueName, type Harness } from "../harness.js";
import { runPolicyContract } from "./contract.js";

const SETTINGS = "Policies[0].Settings";
const ID = `${SETTINGS}.IsolationId`;

const lanUplinks = (): FakeUplinks => {
  const uplinks = new FakeUplinks();
  uplinks.nics.set("lan0", {
    dev: "lan0",
    mac: "02:aa:00:00:00:01",
    mtu: 1500,
    up: true,
    addresses: ["10.70.0.1/24"],
    routes: [{ family: 4, dst: "default", via: "10.70.0.254", metric: null }],
  });
  return uplinks;
};
const adapter = { name: "lan0", field: "Policies[0].Settings.NetworkAdapterName" };

runPolicyContract(vlan, {
  settings: { IsolationId: 10 },
  malformed: [
    { settings: null, field: SETTINGS },
    { settings: {}, field: ID },
    { settings: { IsolationId: 0 }, field: ID },
    { settings: { IsolationId: 4095 }, field: ID },
    { settings: { IsolationId: 10.5 }, field: ID },
    { settings: { IsolationId: "10" }, field: ID },
  ],
  network: { type: "Transparent", subnets: [], adapter },
  host: { uplinks: lanUplinks() },
  skip: { "where it may not appear it is refused naming its Type": "endpoints and networks both take VLAN" },
});

const policy = (id: number) => ({ field: "Policies[0]", policy: vlan.parse(SETTINGS, { IsolationId: id }) });

async function endpoint(h: Harness, network: string, policies: ReturnType<typeof policy>[] = []) {
  const ns = uniqueName("vlan");
  await h.service.createNamespace({ name: ns });
  return h.service.createEndpoint({
    name: uniqueName("c"),
    network,
    attach: { namespace: ns },
    ips: [],
    portMappings: [],
    policies,
  });
}

describe("VLAN policies", () => {
  it("put an endpoint's port on its network's VLAN unless it has its own, with the uplink as a trunk", async () => {
    const h = harness({ uplinks: lanUplinks() });
    const net = await h.service.createNetwork({
      name: uniqueName("lan"),
      type: "Transparent",
      subnets: [],
      adapter,
      policies: [policy(10)],
    });
    const inherited = await endpoint(h, net.id);
    const own = await endpoint(h, net.id, [policy(20)]);
    const native = await endpoint(h, net.id, [policy(1)]);
    const bridge = `hnb-${net.shortId}`;
    expect(h.kernel.objects.get(`vlan:hnv-${inherited.shortId}`)).toMatchObject({
      bridge,
      uplink: "lan0",
      vid: 10,
    });
    expect(h.kernel.objects.get(`vlan:hnv-${own.shortId}`)).toMatchObject({ vid: 20 });
    // VLAN 1 is the bridge's default, the LAN's untagged traffic: nothing to set.
    expect(h.kernel.has(`vlan:hnv-${native.shortId}`)).toBe(false);
  });

  it("are refused on a network without an uplink's LAN, naming the field", async () => {
    const h = harness();
    const err = await rejection(
      h.service.createNetwork({ name: "n", type: "NAT", subnets: [], policies: [policy(10)] }),
    );
    expect(err).toMatchObject({ code: "InvalidArgument", detail: { field: "Policies[0]" } });
    expect(err.message).toContain("NAT networks have no VLANs");
    expect(h.service.networks()).toEqual([]);
  });

  it("are refused, changing nothing, where the kernel has no VLAN filtering on bridges", async () => {
    const missing = { vlanFiltering: "missing" } as unknown as KernelFeatures;
    const h = harness({ uplinks: lanUplinks(), kernelFeatures: missing });
    const err = await rejection(
      h.service.createNetwork({
        name: "lan",
        type: "Transparent",
        subnets: [],
        adapter,
        policies: [policy(10)],
      }),
    );
    expect(err).toMatchObject({ code: "InvalidArgument", detail: { field: "Policies[0]" } });
    expect(err.message).toContain(
      "this kernel has no VLAN filtering on bridges (CONFIG_BRIDGE_VLAN_FILTERING)",
    );
    expect(h.service.networks()).toEqual([]);
    const net = await h.service.createNetwork({ name: "lan", type: "Transparent", subnets: [], adapter });
    expect((await rejection(endpoint(h, net.id, [policy(10)]))).message).toContain("VLAN filtering");
    expect(h.service.endpoints()).toEqual([]);
  });
});
