import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  EndpointRecord,
  OverlayNetworkDefinition,
  OverlayRegistry,
} from "../../../src/cluster/registry.js";
import { OverlayPeers } from "../../../src/core/overlay-peers.js";
import { harness, rejection, silent, type Harness } from "../harness.js";
import { lbSpec } from "./requests.js";

const HOST = "192.168.77.1";
const OTHER = "192.168.77.2";

/** etcd as far as a host's addresses use it, with addresses other hosts hold given up front. */
class FakeRegistry {
  readonly hostAddress = HOST;
  available = true;
  readonly defined: OverlayNetworkDefinition[] = [];
  readonly blocks = new Map<string, string>();
  readonly claimed = new Set<string>();
  readonly released: string[] = [];
  /** Addresses other hosts have. */
  readonly elsewhere = new Set<string>();
  claims = 0;

  defineNetwork(def: OverlayNetworkDefinition): Promise<boolean> {
    this.defined.push(def);
    return Promise.resolve(true);
  }
  blockHolders(): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.blocks));
  }
  claimBlock(_network: string, block: string): Promise<boolean> {
    this.blocks.set(block, HOST);
    return Promise.resolve(true);
  }
  claim(record: EndpointRecord): Promise<string | undefined> {
    this.claims++;
    if (!this.available) return Promise.reject(new Error("etcd is unreachable"));
    if (this.elsewhere.has(record.address)) return Promise.resolve(OTHER);
    this.claimed.add(record.address);
    return Promise.resolve(undefined);
  }
  release(_network: string, address: string): Promise<void> {
    this.claimed.delete(address);
    this.released.push(address);
    return Promise.resolve();
  }
  publishLater(): void {
    // The store is what gets published: nothing to remember here.
  }
}

describe("dual-stack overlay networks on a host with --etcd", () => {
  let h: Harness;
  let registry: FakeRegistry;
  beforeEach(() => {
    registry = new FakeRegistry();
    h = harness({
      hostAddress: HOST,
      underlay: { [HOST]: 1500 },
      overlay: registry as unknown as OverlayRegistry,
    });
  });
  afterEach(() => h.close());

  const createNetwork = () =>
    h.service.createNetwork({
      name: "ds",
      type: "Overlay",
      subnets: [
        { prefix: "10.70.0.0/16", prefixField: "s4", gatewayField: "g4" },
        { prefix: "fd70::/64", prefixField: "s6", gatewayField: "g6" },
      ],
      overlay: { vni: { value: 4300, field: "vni" } },
    });

  const endpoint = (ips: { field: string; address: string }[] = []) =>
    h.service.createEndpoint({ name: "e1", network: "ds", ips, portMappings: [], policies: [] });

  it("defines the IPv6 subnet beside the IPv4 one and claims a block of each", async () => {
    await createNetwork();
    expect(registry.defined).toEqual([
      {
        name: "ds",
        subnet: "10.70.0.0/16",
        gateway: "10.70.0.1",
        subnet6: "fd70::/64",
        gateway6: "fd70::1",
        vni: 4300,
        vxlanPort: 4789,
      },
    ]);
    expect([...registry.blocks.keys()]).toEqual(["10.70.0.0/26", "fd70::/122"]);
    // The source address, for load balancer backends on other hosts, is IPv4 only.
    expect(h.service.network("ds").overlay?.sourceAddress).toBe("10.70.0.2");
  });

  it("gives an endpoint an address of this host's block of each subnet, and claims both", async () => {
    await createNetwork();
    const ep = await endpoint();
    expect(ep.addresses.map((a) => a.address)).toEqual(["10.70.0.3", "fd70::2"]);
    expect(registry.claimed).toEqual(new Set(["10.70.0.2", "10.70.0.3", "fd70::2"]));
  });

  it("gives back the addresses it claimed when another host has one, and tries again", async () => {
    await createNetwork();
    registry.elsewhere.add("fd70::2");
    const ep = await endpoint();
    expect(ep.addresses.map((a) => a.address)).toEqual(["10.70.0.3", "fd70::3"]);
    expect(registry.released).toEqual(["10.70.0.3"]);
    expect(registry.claimed).toEqual(new Set(["10.70.0.2", "10.70.0.3", "fd70::3"]));
  });

  it("refuses an asked-for address another host has, naming its field, with nothing left claimed", async () => {
    await createNetwork();
    registry.elsewhere.add("fd70::9");
    const err = await rejection(endpoint([{ field: "IpConfigurations[1]", address: "fd70::9" }]));
    expect([err.code, err.detail.field]).toEqual(["Conflict", "IpConfigurations[1]"]);
    expect(registry.claimed).toEqual(new Set(["10.70.0.2"]));
    expect(h.service.endpoints()).toEqual([]);
  });

  it("gives both addresses from this host's blocks while etcd is unreachable", async () => {
    await createNetwork();
    registry.available = false;
    const claims = registry.claims;
    const ep = await endpoint();
    expect(ep.addresses.map((a) => a.address)).toEqual(["10.70.0.3", "fd70::2"]);
    expect(registry.claims).toBe(claims);
  });

  it("answers 503 while etcd is unreachable for an address outside this host's blocks, giving back none", async () => {
    await createNetwork();
    registry.available = false;
    const err = await rejection(endpoint([{ field: "IpConfigurations[0]", address: "fd70::1:5" }]));
    expect(err.code).toBe("Unavailable");
    expect(h.service.endpoints()).toEqual([]);
  });

  it("refuse a load balancer backend on another host for an IPv6 VIP, naming the backend's field", async () => {
    await createNetwork();
    const net = h.service.network("ds");
    const peers = new OverlayPeers(h.store, h.reconciler, h.service, HOST, silent);
    for (const address of ["10.70.1.5", "fd70::1:5"])
      await peers.endpointPut({ network: "ds", address, mac: "02:00:00:00:01:05", host: OTHER });
    const remote = h.service.endpoints({ network: net.id }).find((e) => e.remoteHost !== null);
    expect(remote?.addresses.map((a) => a.address)).toEqual(["10.70.1.5", "fd70::1:5"]);
    const lb = (vip: string) =>
      h.service.loadBalancers.create(lbSpec(vip.includes(":") ? "lb6" : "lb4", [vip], [remote?.id ?? ""]));
    const err = await rejection(lb("fd71::80"));
    expect([err.code, err.detail.field]).toEqual(["InvalidArgument", "HostComputeEndpoints[0]"]);
    await lb("192.0.2.80");
  });
});
