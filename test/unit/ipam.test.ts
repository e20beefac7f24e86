import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockLength, blockOfValue, blocksOf } from "../../src/ipam/blocks.js";
import { DockerPools } from "../../src/ipam/docker-pools.js";
import { allocateAddress, freeAddresses } from "../../src/ipam/ipam.js";
import { cidrOf, parseIp, parsePrefix } from "../../src/model/ip.js";
import type { Family } from "../../src/model/ip.js";
import { noDns, type Network, type Subnet } from "../../src/model/types.js";
import { Store } from "../../src/store/store.js";
import { thrown } from "./harness.js";

let store: Store;
let seq = 0;

beforeEach(() => {
  store = new Store(":memory:");
});
afterEach(() => {
  store.close();
});

const uuid = (n: number): string => `${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;

function addNetwork(subnets: { family: Family; prefix: string; gateway: string }[]): Network {
  const id = uuid(++seq);
  store.networks.insert({
    id,
    name: `n${seq}`,
    type: "NAT",
    shortId: id.slice(0, 8),
    mtu: 1500,
    policies: [],
    interContainer: true,
    adapter: null,
    uplink: null,
    ipam: "static",
    dns: noDns,
    resolver: false,
    overlay: null,
    subnets,
  });
  const net = store.networks.find(id);
  if (net === undefined) throw new Error("network not stored");
  return net;
}

function subnetOf(net: Network, family: Family = 4): Subnet {
  const s = net.subnets.find((x) => x.family === family);
  if (s === undefined) throw new Error(`no IPv${family} subnet`);
  return s;
}

function addEndpoint(net: Network): string {
  const id = uuid(0x10000000 + ++seq);
  store.endpoints.insert({
    id,
    name: `e${seq}`,
    networkId: net.id,
    shortId: id.slice(0, 8),
    mac: "02:00:00:00:00:01",
    attachment: null,
    gatewayPriority: 0,
    remoteHost: null,
    dns: noDns,
    aliases: [],
  });
  return id;
}

/** Allocates in one store transaction, as the service does. */
function allocate(subnet: Subnet, endpointId: string, requested?: string): string {
  return store.write(() =>
    allocateAddress(
      store,
      subnet,
      endpointId,
      requested === undefined ? undefined : { field: "IpConfigurations[0].IpAddress", address: requested },
    ),
  );
}

const v4 = (prefix: string, gateway: string): { family: Family; prefix: string; gateway: string } => ({
  family: 4,
  prefix,
  gateway,
});
const v6 = (prefix: string, gateway: string): { family: Family; prefix: string; gateway: string } => ({
  family: 6,
  prefix,
  gateway,
});

describe("allocateAddress", () => {
  it("hands out the first host addresses in order, skipping the gateway", () => {
    const net = addNetwork([v4("10.0.0.0/24", "10.0.0.1")]);
    const s = subnetOf(net);
    const got = [1, 2, 3].map(() => allocate(s, addEndpoint(net)));
    expect(got).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
  });

  it("skips a gateway that is not the first host address", () => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.3")]);
    const s = subnetOf(net);
    const got = [1, 2, 3, 4, 5].map(() => allocate(s, addEndpoint(net)));
    expect(got).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  });

  it("never hands out the same address twice in one subnet (1000 allocations)", () => {
    const net = addNetwork([v4("10.1.0.0/22", "10.1.0.1")]);
    const s = subnetOf(net);
    const got = Array.from({ length: 1000 }, () => allocate(s, addEndpoint(net)));
    expect(new Set(got).size).toBe(1000);
    const prefix = parsePrefix("p", s.prefix);
    for (const a of got) {
      const v = parseIp("a", a).value;
      expect(v > prefix.first && v < prefix.last).toBe(true);
      expect(a).not.toBe("10.1.0.1");
    }
    expect(store.endpoints.addressCount(s.id)).toBe(1000);
  });

  it("keeps subnets of different networks apart; each has its own sequence", () => {
    const a = addNetwork([v4("10.0.0.0/24", "10.0.0.1")]);
    const b = addNetwork([v4("10.0.1.0/24", "10.0.1.1")]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (let i = 0; i < 50; i++) {
      fromA.push(allocate(subnetOf(a), addEndpoint(a)));
      fromB.push(allocate(subnetOf(b), addEndpoint(b)));
    }
    expect(new Set(fromA).size).toBe(50);
    expect(new Set(fromB).size).toBe(50);
    expect(fromA.every((x) => x.startsWith("10.0.0."))).toBe(true);
    expect(fromB.every((x) => x.startsWith("10.0.1."))).toBe(true);
    expect(fromA[0]).toBe("10.0.0.2");
    expect(fromB[0]).toBe("10.0.1.2");
  });

  it("gives a dual-stack endpoint one address of each family", () => {
    const net = addNetwork([
      v4("10.0.0.0/24", "10.0.0.1"),
      { family: 6, prefix: "fd00::/64", gateway: "fd00::1" },
    ]);
    const ep = addEndpoint(net);
    expect(allocate(subnetOf(net, 4), ep)).toBe("10.0.0.2");
    expect(allocate(subnetOf(net, 6), ep)).toBe("fd00::2");
    const stored = store.endpoints.find(ep)?.addresses ?? [];
    expect(stored.map((a) => [a.family, a.address, a.prefixLength])).toEqual([
      [4, "10.0.0.2", 24],
      [6, "fd00::2", 64],
    ]);
  });

  it("allocates many distinct IPv6 addresses in a /64", () => {
    const net = addNetwork([{ family: 6, prefix: "fd00:1::/64", gateway: "fd00:1::1" }]);
    const s = subnetOf(net, 6);
    const got = Array.from({ length: 300 }, () => allocate(s, addEndpoint(net)));
    expect(new Set(got).size).toBe(300);
    expect(got[0]).toBe("fd00:1::2");
    expect(got.at(-1)).toBe("fd00:1::12d");
    expect(got).not.toContain("fd00:1::");
    expect(got).not.toContain("fd00:1::1");
  });

  it("honours a requested address and does not give it out again", () => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.1")]);
    const s = subnetOf(net);
    expect(allocate(s, addEndpoint(net), "10.0.0.3")).toBe("10.0.0.3");
    const rest = [1, 2, 3, 4].map(() => allocate(s, addEndpoint(net)));
    expect(rest).toEqual(["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  });

  it("stores a requested IPv6 address in canonical form", () => {
    const net = addNetwork([{ family: 6, prefix: "fd00::/64", gateway: "fd00::1" }]);
    expect(allocate(subnetOf(net, 6), addEndpoint(net), "FD00:0::00AB")).toBe("fd00::ab");
  });

  it.each([
    ["10.0.0.0", "InvalidArgument", "network address"],
    ["10.0.0.7", "InvalidArgument", "broadcast address"],
    ["10.0.1.2", "InvalidArgument", "outside the subnet"],
    ["10.0.0.1", "Conflict", "gateway"],
    ["not-an-ip", "InvalidArgument", "garbage"],
  ])("refuses a requested %s (%s: %s) naming the field", (address, code) => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.1")]);
    const err = thrown(() => allocate(subnetOf(net), addEndpoint(net), address));
    expect(err.code).toBe(code);
    expect(err.detail.field).toBe("IpConfigurations[0].IpAddress");
    expect(store.endpoints.addressCount(subnetOf(net).id)).toBe(0);
  });

  it("refuses a requested address already in use with Conflict", () => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.1")]);
    allocate(subnetOf(net), addEndpoint(net), "10.0.0.4");
    const err = thrown(() => allocate(subnetOf(net), addEndpoint(net), "10.0.0.4"));
    expect(err.code).toBe("Conflict");
    expect(err.detail.field).toBe("IpConfigurations[0].IpAddress");
  });

  it("never hands out the network, gateway or broadcast address; a full /29 gives Conflict", () => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.1")]);
    const s = subnetOf(net);
    const got = Array.from({ length: 5 }, () => allocate(s, addEndpoint(net)));
    expect(got.sort()).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
    const err = thrown(() => allocate(s, addEndpoint(net)));
    expect(err.code).toBe("Conflict");
    expect(err.message).toContain("10.0.0.0/29");
    expect(store.endpoints.addressCount(s.id)).toBe(5);
  });

  it("frees an endpoint's address when the endpoint is deleted, so it can be reused", () => {
    const net = addNetwork([v4("10.0.0.0/29", "10.0.0.1")]);
    const s = subnetOf(net);
    const eps = Array.from({ length: 5 }, () => addEndpoint(net));
    const got = eps.map((ep) => allocate(s, ep));
    const victim = eps[2] ?? "";
    store.write(() => store.endpoints.delete(victim));
    expect(store.endpoints.addressCount(s.id)).toBe(4);
    // The only free address is the one just released: allocation wraps around to it.
    expect(allocate(s, addEndpoint(net))).toBe(got[2]);
    store.write(() => store.endpoints.delete(eps[0] ?? ""));
    expect(allocate(s, addEndpoint(net), got[0])).toBe(got[0]);
  });

  it("continues after the last address handed out instead of reusing a just-freed one", () => {
    const net = addNetwork([v4("10.0.0.0/24", "10.0.0.1")]);
    const s = subnetOf(net);
    const first = addEndpoint(net);
    expect(allocate(s, first)).toBe("10.0.0.2");
    store.write(() => store.endpoints.delete(first));
    expect(allocate(s, addEndpoint(net))).toBe("10.0.0.3");
  });

  it("a failed transaction allocates nothing", () => {
    const net = addNetwork([v4("10.0.0.0/24", "10.0.0.1")]);
    const s = subnetOf(net);
    const ep = addEndpoint(net);
    expect(() =>
      store.write(() => {
        allocateAddress(store, s, ep, undefined);
        throw new Error("later step failed");
      }),
    ).toThrow("later step failed");
    expect(store.endpoints.addressCount(s.id)).toBe(0);
    expect(allocate(s, ep)).toBe("10.0.0.2");
  });

  it("uses both addresses of a /31 (no network or broadcast address there)", () => {
    const net = addNetwork([v4("10.0.0.4/31", "10.0.0.4")]);
    expect(allocate(subnetOf(net), addEndpoint(net))).toBe("10.0.0.5");
    expect(thrown(() => allocate(subnetOf(net), addEndpoint(net))).code).toBe("Conflict");
  });
});

describe("overlay address blocks", () => {
  const blocks = (cidr: string): string[] => [...blocksOf(parsePrefix("subnet", cidr))].map(cidrOf);

  it("cuts a large subnet into blocks of 64 addresses, a small one into 16 blocks of at least 4", () => {
    expect(blockLength(parsePrefix("subnet", "10.50.0.0/16"))).toBe(26);
    expect(blockLength(parsePrefix("subnet", "10.50.0.0/22"))).toBe(26);
    expect(blocks("10.60.0.0/24")).toHaveLength(16);
    expect(blocks("10.60.0.0/24")[1]).toBe("10.60.0.16/28");
    expect(blocks("10.60.0.0/28")).toEqual(["10.60.0.0/30", "10.60.0.4/30", "10.60.0.8/30", "10.60.0.12/30"]);
    expect(blocks("10.60.0.0/31")).toEqual(["10.60.0.0/31"]);
    expect(blockLength(parsePrefix("subnet", "fd00::/64"))).toBe(122);
  });

  it("cuts an IPv6 /64 into 2^58 blocks of 64 addresses, lazily", () => {
    const subnet = parsePrefix("subnet", "fd00:1::/64");
    const first = blocksOf(subnet);
    const two = [first.next(), first.next()].flatMap((r) => (r.done === true ? [] : [cidrOf(r.value)]));
    expect(two).toEqual(["fd00:1::/122", "fd00:1::40/122"]);
    expect(blockOfValue(subnet, parseIp("a", "fd00:1::1:2:3:4").value)).toBe("fd00:1::1:2:3:0/122");
    expect(blockOfValue(subnet, parseIp("a", "fd00:1::ffff").value)).toBe("fd00:1::ffc0/122");
  });

  it("allocates from an IPv6 subnet's preferred blocks, and from each subnet's own only", () => {
    const net = addNetwork([v4("10.50.0.0/16", "10.50.0.1"), v6("fd00:1::/64", "fd00:1::1")]);
    const s6 = subnetOf(net, 6);
    const own6 = [parsePrefix("block", "fd00:1::1:0/122")];
    const take = (): string =>
      store.write(() => allocateAddress(store, s6, addEndpoint(net), undefined, new Set(), own6));
    expect(take()).toBe("fd00:1::1:0");
    expect(take()).toBe("fd00:1::1:1");
    expect([...freeAddresses(store, s6, own6)]).toHaveLength(62);
    // An IPv4 block holds none of the IPv6 subnet's addresses.
    expect([...freeAddresses(store, s6, [parsePrefix("block", "10.50.0.0/26")])]).toEqual([]);
  });

  it("names the block an address is in", () => {
    const subnet = parsePrefix("subnet", "10.50.0.0/16");
    expect(blockOfValue(subnet, parseIp("a", "10.50.1.130").value)).toBe("10.50.1.128/26");
    expect(blockOfValue(subnet, parseIp("a", "10.50.0.0").value)).toBe("10.50.0.0/26");
  });

  it("allocates from the preferred blocks first, skipping the gateway and taken addresses", () => {
    const net = addNetwork([v4("10.50.0.0/16", "10.50.0.1")]);
    const s = subnetOf(net);
    const own = [parsePrefix("block", "10.50.0.0/30"), parsePrefix("block", "10.50.7.0/26")];
    const take = (): string =>
      store.write(() => allocateAddress(store, s, addEndpoint(net), undefined, new Set(), own));
    // 10.50.0.0 is the subnet's own address and 10.50.0.1 the gateway.
    expect(take()).toBe("10.50.0.2");
    expect(take()).toBe("10.50.0.3");
    expect(take()).toBe("10.50.7.0");
    expect([...freeAddresses(store, s, own)]).toHaveLength(63);
  });

  it("falls back to the whole subnet when the preferred blocks are full", () => {
    const net = addNetwork([v4("10.50.0.0/24", "10.50.0.1")]);
    const s = subnetOf(net);
    const full = [parsePrefix("block", "10.50.0.0/31")];
    expect(store.write(() => allocateAddress(store, s, addEndpoint(net), undefined, new Set(), full))).toBe(
      "10.50.0.2",
    );
  });
});

describe("Docker's pools, on the same allocator", () => {
  const pools = (): DockerPools =>
    new DockerPools(store, () => Promise.reject(new Error("every pool of these tests is given")));
  const request = (p: DockerPools, pool: string, subPool = ""): Promise<{ id: string; pool: string }> =>
    p.requestPool({ addressSpace: "hostnet-local", pool, subPool, v6: false });

  it("hands out the lowest address of a fresh pool first, then goes on past a released one", async () => {
    const p = pools();
    const { id } = await request(p, "10.90.0.0/29");
    expect([1, 2, 3].map(() => p.requestAddress(id, ""))).toEqual([
      "10.90.0.1/29",
      "10.90.0.2/29",
      "10.90.0.3/29",
    ]);
    p.releaseAddress(id, "10.90.0.2/29");
    expect(p.requestAddress(id, "")).toBe("10.90.0.4/29");
    expect([1, 2].map(() => p.requestAddress(id, ""))).toEqual(["10.90.0.5/29", "10.90.0.6/29"]);
    // Wrapped around: the released address is the only free one.
    expect(p.requestAddress(id, "")).toBe("10.90.0.2/29");
  });

  it("starts a sub-pool at its own first address, and refuses requests outside it or taken", async () => {
    const p = pools();
    const { id } = await request(p, "10.91.0.0/24", "10.91.0.128/25");
    expect(p.requestAddress(id, "")).toBe("10.91.0.128/24");
    const outside = thrown(() => p.requestAddress(id, "10.91.0.5"));
    expect([outside.code, outside.detail.field]).toEqual(["InvalidArgument", "Address"]);
    const taken = thrown(() => p.requestAddress(id, "10.91.0.128"));
    expect([taken.code, taken.detail.field]).toEqual(["Conflict", "Address"]);
    p.releaseAddress(id, "10.91.0.200");
    p.releaseAddress(id, "10.91.0.128");
    p.releaseAddress(id, "10.91.0.128");
    expect(p.requestAddress(id, "10.91.0.128")).toBe("10.91.0.128/24");
  });
});
