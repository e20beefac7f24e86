import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { subnetFields, type OverlayNetworkDefinition } from "../../../src/cluster/registry.js";
import { storeNameBook } from "../../../src/core/names.js";
import { clusterCaused, OverlayPeers, type ClusterSide } from "../../../src/core/overlay-peers.js";
import type { NetworkSpec } from "../../../src/core/service.js";
import type { EventLog } from "../../../src/events/log.js";
import { noDns, type Network } from "../../../src/model/types.js";
import { harness, silent, type Harness } from "../harness.js";

const HOST = "192.168.77.1";

/** The service as far as the cluster uses it, recording what the cluster asked of it. */
class RecordingService implements ClusterSide {
  readonly created: string[] = [];
  readonly specs: NetworkSpec[] = [];
  readonly deleted: string[] = [];
  constructor(private readonly h: Harness) {}
  get events(): EventLog {
    return this.h.service.events;
  }
  createNetwork(spec: NetworkSpec): Promise<Network> {
    this.created.push(spec.name);
    this.specs.push(spec);
    return Promise.resolve(addOverlay(this.h, spec.name, 1));
  }
  deleteNetwork(id: string): Promise<void> {
    this.deleted.push(this.h.store.networks.find(id)?.name ?? id);
    this.h.store.write(() => this.h.store.networks.delete(id));
    return Promise.resolve();
  }
  deleteEndpoint(id: string): Promise<void> {
    this.h.store.write(() => this.h.store.endpoints.delete(id));
    return Promise.resolve();
  }
  async deleteEndpointAddress(id: string, address: string): Promise<void> {
    const gone = this.h.store.endpoints.find(id)?.addresses.find((a) => a.address === address);
    const subnetId = gone?.subnetId;
    if (subnetId != null)
      this.h.store.write(() => this.h.store.endpoints.setLeasedAddress(id, subnetId, null));
    await this.h.reconciler.converge([`ep:${id}`]);
  }
}

let seq = 0;

function addOverlay(
  h: Harness,
  name: string,
  vni: number,
  type: "Overlay" | "NAT" = "Overlay",
  ipv6 = false,
): Network {
  const id = `${(++seq).toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
  h.store.write(() =>
    h.store.networks.insert({
      id,
      name,
      type,
      shortId: id.slice(0, 8),
      mtu: 1450,
      policies: [],
      interContainer: true,
      adapter: null,
      uplink: null,
      ipam: "static",
      dns: noDns,
      resolver: false,
      overlay: type === "NAT" ? null : { vni, vxlanPort: 4789, localAddress: HOST, sourceAddress: null },
      subnets: [
        { family: 4, prefix: `10.${String(seq)}.0.0/16`, gateway: `10.${String(seq)}.0.1` },
        ...(ipv6
          ? [{ family: 6 as const, prefix: `fd00:${String(seq)}::/64`, gateway: `fd00:${String(seq)}::1` }]
          : []),
      ],
    }),
  );
  const net = h.store.networks.find(id);
  if (net === undefined) throw new Error("network not stored");
  return net;
}

const definitionOf = (net: Network): OverlayNetworkDefinition => ({
  name: net.name,
  ...subnetFields(net.subnets),
  vni: net.overlay?.vni ?? 0,
  vxlanPort: net.overlay?.vxlanPort ?? 0,
});

let h: Harness;
let service: RecordingService;
let peers: OverlayPeers;
beforeEach(() => {
  h = harness();
  service = new RecordingService(h);
  peers = new OverlayPeers(h.store, h.reconciler, service, HOST, silent);
});
afterEach(() => h.close());

describe("OverlayPeers: the cluster's networks as listed when hostnetd connects", () => {
  it("deletes here what the cluster deleted or defined anew meanwhile, and creates what is new", async () => {
    const kept = addOverlay(h, "kept", 10);
    const deleted = addOverlay(h, "deleted", 11);
    const redefined = addOverlay(h, "redefined", 12);
    const nat = addOverlay(h, "nat", 0, "NAT");
    // The cluster's networks are those this host has blocks of; "own" is a routed overlay of this host.
    h.store.write(() => {
      for (const net of [kept, deleted, redefined])
        h.store.networks.insertOverlayBlock(net.id, "10.0.0.0/26");
    });
    const own = addOverlay(h, "own", 14);
    await peers.networksListed([
      definitionOf(kept),
      { ...definitionOf(redefined), vni: 99 },
      { ...definitionOf(kept), name: "new", vni: 13 },
    ]);
    expect(service.deleted).toEqual(["deleted", "redefined"]);
    expect(service.created).toEqual(["redefined", "new"]);
    expect(h.store.networks.find(nat.id)).toBeDefined();
    expect(h.store.networks.find(own.id)).toBeDefined();
  });

  it("keeps a network the cluster deleted while this host still has endpoints on it", async () => {
    const net = addOverlay(h, "busy", 20);
    h.store.write(() => {
      h.store.networks.insertOverlayBlock(net.id, "10.0.0.0/26");
      h.store.endpoints.insert({
        id: "e0000000-0000-4000-8000-000000000000",
        name: "c1",
        networkId: net.id,
        shortId: "e0000000",
        mac: "02:00:00:00:00:01",
        attachment: null,
        gatewayPriority: 0,
        remoteHost: null,
        dns: noDns,
        aliases: [],
      });
    });
    await peers.networksListed([]);
    expect(service.deleted).toEqual([]);
  });

  it("puts another host's address that came while the network was being created here, once it is", async () => {
    const subnet = `10.${String(seq + 1)}`;
    const record = {
      network: "late",
      address: `${subnet}.0.7`,
      mac: "02:00:00:00:00:07",
      host: "192.168.77.2",
    };
    await peers.endpointPut(record);
    await peers.endpointPut({ ...record, address: `${subnet}.0.8`, mac: "02:00:00:00:00:08" });
    await peers.endpointDeleted("late", `${subnet}.0.8`);
    await peers.networkDefined({
      name: "late",
      subnet: `${subnet}.0.0/16`,
      gateway: `${subnet}.0.1`,
      vni: 50,
      vxlanPort: 4789,
    });
    const net = h.store.networks.find("late");
    expect(net).toBeDefined();
    expect(h.store.endpoints.all({ networkId: net?.id ?? "" }).map((ep) => ep.name)).toEqual([
      `${subnet}.0.7@late`,
    ]);
  });

  it("ignores another host's endpoint outside the network's subnet", async () => {
    const net = addOverlay(h, "ov", 30);
    await peers.endpointPut({
      network: "ov",
      address: "192.0.2.9",
      mac: "02:00:00:00:00:09",
      host: "192.168.77.2",
    });
    expect(h.store.endpoints.all({ networkId: net.id })).toEqual([]);
  });
});

describe("OverlayPeers: dual-stack networks", () => {
  const OTHER = "192.168.77.2";
  const MAC = "02:00:00:00:00:09";
  const record = (address: string, mac = MAC) => ({ network: "ds", address, mac, host: OTHER });
  const dualStack = async (name: string, vni: number): Promise<Network> => {
    const net = addOverlay(h, name, vni, "Overlay", true);
    await h.reconciler.converge([`net:${net.id}`, "global"]);
    return net;
  };
  const remotes = (net: Network) =>
    h.store.endpoints
      .all({ networkId: net.id })
      .map((ep) => ({ name: ep.name, addresses: ep.addresses.map((a) => a.address) }));

  it("keeps a dual-stack network whose definition has both subnets, and an old one-subnet definition equal", async () => {
    const ds = addOverlay(h, "ds", 40, "Overlay", true);
    const v4 = addOverlay(h, "v4", 41);
    h.store.write(() => {
      for (const net of [ds, v4]) h.store.networks.insertOverlayBlock(net.id, "10.0.0.0/26");
    });
    const old = definitionOf(v4);
    expect(Object.keys(old)).not.toContain("subnet6");
    await peers.networksListed([definitionOf(ds), old]);
    expect(service.deleted).toEqual([]);
    // A cluster definition without the IPv6 subnet is another network.
    const without: OverlayNetworkDefinition = {
      name: "ds",
      subnet: ds.subnets[0]?.prefix ?? "",
      gateway: ds.subnets[0]?.gateway ?? "",
      vni: 40,
      vxlanPort: 4789,
    };
    await peers.networksListed([without, old]);
    expect(service.deleted).toEqual(["ds"]);
  });

  it("joins the addresses of one MAC on one host into one remote endpoint, named after the first", async () => {
    const net = await dualStack("ds", 42);
    const [a4, a6] = [`10.${String(seq)}.0.5`, `fd00:${String(seq)}::5`];
    await peers.endpointPut(record(a4));
    await peers.endpointPut(record(a6));
    await peers.endpointPut(record(a6));
    expect(remotes(net)).toEqual([{ name: `${a4}@ds`, addresses: [a4, a6] }]);
    // One peer object: one pair of FDB entries for the MAC, a neighbour entry per address.
    const plan = await h.reconciler.preview();
    expect(plan.ops).toEqual([]);
    await peers.endpointDeleted("ds", a6);
    expect(remotes(net)).toEqual([{ name: `${a4}@ds`, addresses: [a4] }]);
    expect((await h.reconciler.preview()).ops).toEqual([]);
    await peers.endpointDeleted("ds", a4);
    expect(remotes(net)).toEqual([]);
  });

  it("records another host's endpoint appearing and gaining an address as events of cause cluster", async () => {
    await dualStack("ds", 44);
    const [a4, a6] = [`10.${String(seq)}.0.5`, `fd00:${String(seq)}::5`];
    const cluster = clusterCaused(peers);
    await cluster.endpointPut(record(a4));
    await cluster.endpointPut(record(a6));
    const events = h.store.events.between("1970", "9999").filter((e) => e.kind === "endpoint");
    expect(events.map((e) => [e.action, e.name, e.cause, e.details])).toEqual([
      ["create", `${a4}@ds`, "cluster", { Network: "ds", RemoteHost: expect.any(String) as unknown }],
      [
        "update",
        `${a4}@ds`,
        "cluster",
        { Network: "ds", RemoteHost: expect.any(String) as unknown, AddressAdded: a6 },
      ],
    ]);
  });

  it("makes another MAC at the same address another endpoint, taking the address from the first", async () => {
    const net = await dualStack("ds", 43);
    const [a4, a6] = [`10.${String(seq)}.0.5`, `fd00:${String(seq)}::5`];
    await peers.endpointPut(record(a4));
    await peers.endpointPut(record(a6));
    await peers.endpointPut(record(a6, "02:00:00:00:00:0a"));
    expect(remotes(net)).toEqual([
      { name: `${a4}@ds`, addresses: [a4] },
      { name: `${a6}@ds`, addresses: [a6] },
    ]);
  });

  it("reconciles a full list address by address, IPv4 first", async () => {
    const net = await dualStack("ds", 44);
    const [a4, a6, b4, b6] = [
      `10.${String(seq)}.0.5`,
      `fd00:${String(seq)}::5`,
      `10.${String(seq)}.0.6`,
      `fd00:${String(seq)}::6`,
    ];
    await peers.endpointPut(record(a4));
    await peers.endpointPut(record(a6));
    const B = "02:00:00:00:00:0b";
    await peers.endpointsListed([record(a4), record(b6, B), record(b4, B)]);
    expect(remotes(net)).toEqual([
      { name: `${a4}@ds`, addresses: [a4] },
      { name: `${b4}@ds`, addresses: [b4, b6] },
    ]);
    await peers.endpointsListed([record(b6, B)]);
    expect(remotes(net)).toEqual([{ name: `${b4}@ds`, addresses: [b6] }]);
  });
});

describe("OverlayPeers: names across hosts", () => {
  const OTHER = "192.168.77.2";

  it("publishes this host's endpoints with their names, and answers another host's by the names it published", async () => {
    const net = addOverlay(h, "named", 30);
    const subnet = net.subnets[0]?.prefix.replace(/\.0\/16$/, "") ?? "";
    h.store.write(() => {
      h.store.endpoints.insert({
        id: "e1000000-0000-4000-8000-000000000000",
        name: "Web",
        networkId: net.id,
        shortId: "e1000000",
        mac: "02:00:00:00:00:11",
        attachment: null,
        gatewayPriority: 0,
        remoteHost: null,
        dns: noDns,
        aliases: ["www"],
      });
      h.store.endpoints.insertAddress(
        net.subnets[0]?.id ?? 0,
        `${subnet}.11`,
        "e1000000-0000-4000-8000-000000000000",
      );
    });
    expect(peers.ownEndpoints()).toContainEqual({
      network: "named",
      address: `${subnet}.11`,
      mac: "02:00:00:00:00:11",
      host: HOST,
      names: ["web", "www"],
    });

    const book = storeNameBook(h.store);
    const db = { network: "named", address: `${subnet}.12`, mac: "02:00:00:00:00:12", host: OTHER };
    // A record of an older hostnet has no names; its host publishes them once it runs this one.
    await peers.endpointPut(db);
    expect(book.addresses(net.id, "db")).toBeUndefined();
    await peers.endpointPut({ ...db, names: ["DB", "database", "www"] });
    expect(book.addresses(net.id, "db")).toEqual([`${subnet}.12`]);
    expect(book.addresses(net.id, "database")).toEqual([`${subnet}.12`]);
    // "www" is this host's endpoint's already: it stays with it.
    expect(book.addresses(net.id, "www")).toEqual([`${subnet}.11`]);
    expect(book.nameOf(net.id, `${subnet}.12`)).toBe("db");
    await peers.endpointDeleted("named", `${subnet}.12`);
    expect(book.addresses(net.id, "db")).toBeUndefined();
  });

  it("creates a network the cluster defines with the definition's Dns and resolver", async () => {
    const dns = { domain: "ov.test", search: ["ov.test"], servers: ["192.0.2.53"], options: [] };
    const def = {
      ...definitionOf(addOverlay(h, "model", 31)),
      name: "learnt",
      dns,
      resolver: false as const,
    };
    await peers.networkDefined(def);
    expect(service.specs.at(-1)).toMatchObject({
      name: "learnt",
      dns: {
        domain: { value: "ov.test" },
        search: { value: ["ov.test"] },
        servers: { value: ["192.0.2.53"] },
        options: { value: [] },
      },
      resolver: { value: false },
    });
  });
});
