import { describe, expect, it } from "vitest";
import { identity, parentOf, type KernelObject } from "../../../src/dataplane/objects.js";
import { plan, type Op } from "../../../src/dataplane/plan.js";
import { skeletonRules } from "../../../src/dataplane/render/nft.js";
import { applyOps } from "../../helpers/memory-kernel.js";
import {
  addr,
  address,
  create,
  del,
  element,
  ifname,
  orphanBridge,
  port,
  replace,
} from "../../helpers/plan-ops.js";
import {
  addr4,
  addr6,
  bridge,
  clink,
  endpoint,
  everything,
  forward,
  globals,
  gw4,
  gw6,
  localnet,
  masq4,
  natBridge,
  network,
  overlay,
  peer,
  portmap,
  route4,
  route6,
  table,
  veth,
  vxlan,
} from "./samples.js";

/** The kernel state after applying `ops` to `observed` (strict: refuses what Linux refuses). */
function applied(observed: readonly KernelObject[], ops: readonly Op[]): KernelObject[] {
  const state = new Map(observed.map((o) => [identity(o), o]));
  applyOps(state, ops);
  return [...state.values()];
}

const ids = (ops: readonly Op[]): string[] => ops.map((op) => `${op.action} ${identity(op.object)}`);

describe("plan: create", () => {
  it("creates everything from an empty kernel, parents first", () => {
    const { ops } = plan(everything, []);
    expect(ops).toEqual([
      create(table),
      create(forward),
      create(bridge),
      create(gw4),
      create(gw6),
      create(localnet),
      create(vxlan),
      create(veth),
      create(clink),
      create(addr4),
      create(addr6),
      create(peer),
      create(route4),
      create(route6),
      create(natBridge),
      create(masq4),
      create(portmap),
    ]);
  });

  it("creates only what is missing", () => {
    const { ops } = plan(
      everything,
      everything.filter((o) => o !== route6 && o !== masq4),
    );
    expect(ops).toEqual([create(route6), create(masq4)]);
  });

  it("re-creates an observed child whose parent is missing (the parent's creation would not keep it)", () => {
    const { ops } = plan([bridge, gw4], [gw4]);
    expect(ops).toEqual([create(bridge), create(gw4)]);
  });

  it("has nothing to do when the kernel already matches", () => {
    expect(plan(everything, everything).ops).toEqual([]);
    expect(plan([], []).ops).toEqual([]);
  });

  it("ignores what the kernel does not report (a veth's peer and namespace)", () => {
    const observed = { ...veth, peer: "", netns: "" } as KernelObject;
    expect(plan([veth], [observed]).ops).toEqual([]);
  });
});

describe("plan: replace", () => {
  it("replaces a bridge whose MTU changed, without touching its addresses", () => {
    const old = { ...bridge, mtu: 1400 } as KernelObject;
    expect(plan([bridge, gw4], [old, gw4]).ops).toEqual([replace(old, bridge)]);
  });

  it("replaces a route whose gateway changed", () => {
    const old = { ...route4, via: "10.0.0.254" } as KernelObject;
    const { ops } = plan([veth, clink, route4], [veth, clink, old]);
    expect(ops).toEqual([replace(old, route4)]);
  });

  it("replaces an element whose value or owner changed", () => {
    const value = { ...portmap, value: [addr("10.0.0.9"), port(80)] };
    expect(plan([table, portmap], [table, value]).ops).toEqual([replace(value, portmap)]);
    const orphan = { ...natBridge, owner: "orphan" } as KernelObject;
    expect(plan([table, natBridge], [table, orphan]).ops).toEqual([replace(orphan, natBridge)]);
  });

  it("replaces a sysctl with another value", () => {
    const old = { ...localnet, value: "0" } as KernelObject;
    expect(plan([bridge, localnet], [bridge, old]).ops).toEqual([replace(old, localnet)]);
  });

  it("re-creates the children of a replaced veth (its container end goes with it)", () => {
    const old = { ...veth, mtu: 1400 } as KernelObject;
    const { ops } = plan([bridge, veth, clink], [bridge, old, clink]);
    expect(ops).toEqual([replace(old, veth), create(clink)]);
  });

  it("re-creates a child of a replaced veth even when the child itself changed", () => {
    const old = { ...veth, mtu: 1400 } as KernelObject;
    const oldLink = { ...clink, mac: "02:00:00:00:00:99" } as KernelObject;
    const { ops } = plan([bridge, veth, clink], [bridge, old, oldLink]);
    expect(ops).toEqual([replace(old, veth), create(clink)]);
  });

  // A deleted bridge releases its ports: enslaving them again keeps every container's interface.
  it("changes a veth's bridge and port flags in place, keeping its container end", () => {
    const released = { ...veth, master: "", hairpin: false } as KernelObject;
    const { ops } = plan([bridge, veth, clink, addr4], [released, clink, addr4]);
    expect(ops).toEqual([create(bridge), replace(released, veth)]);
  });

  it("replaces a peer whose address or remote host changed, in place", () => {
    const moved = { ...peer, remote: "192.0.2.9" } as KernelObject;
    expect(plan([bridge, vxlan, peer], [bridge, vxlan, moved]).ops).toEqual([replace(moved, peer)]);
    const readdressed = { ...peer, addresses: ["10.0.0.9"] } as KernelObject;
    expect(plan([vxlan, peer], [vxlan, readdressed]).ops).toEqual([replace(readdressed, peer)]);
  });

  it("plans a dual-stack peer as one object, whatever order its neighbour entries are observed in", () => {
    const dual = { ...peer, addresses: ["10.0.0.3", "fd00::3"] } as KernelObject;
    const seen = { ...peer, owner: "orphan", addresses: ["fd00::3", "10.0.0.3"] } as KernelObject;
    expect(plan([vxlan, dual], [vxlan, seen]).ops).toEqual([]);
    expect(plan([vxlan, dual], [vxlan, peer]).ops).toEqual([replace(peer, dual)]);
    expect(plan([vxlan, peer], [vxlan, dual]).ops).toEqual([replace(dual, peer)]);
  });

  it("repairs a peer whose neighbour or FDB entries are missing", () => {
    const noNeighbour = { ...peer, addresses: [] } as KernelObject;
    expect(plan([vxlan, peer], [vxlan, noNeighbour]).ops).toEqual([replace(noNeighbour, peer)]);
    const noFdb = { ...peer, remote: "" } as KernelObject;
    expect(plan([vxlan, peer], [vxlan, noFdb]).ops).toEqual([replace(noFdb, peer)]);
  });

  it("takes an orphan peer for the desired one when only its owner differs (adoption is the reconciler's)", () => {
    const orphan = { ...peer, owner: "orphan" } as KernelObject;
    expect(plan([vxlan, peer], [vxlan, orphan]).ops).toEqual([]);
  });

  it("re-creates the peers of a vxlan device re-created for a new VNI, port or local address", () => {
    for (const change of [{ vni: 4097 }, { port: 8472 }, { local: "192.0.2.7" }]) {
      const old = { ...vxlan, ...change } as KernelObject;
      expect(plan([bridge, vxlan, peer], [bridge, old, peer]).ops).toEqual([
        replace(old, vxlan),
        create(peer),
      ]);
    }
  });

  it("re-creates every element when the nft table is replaced", () => {
    const old = { ...table, version: "0123456789ab" } as KernelObject;
    const { ops } = plan([table, natBridge, masq4, portmap], [old, natBridge, masq4, portmap]);
    expect(ops).toEqual([replace(old, table), create(natBridge), create(masq4), create(portmap)]);
  });

  it("rebuilds a table whose rules were flushed (nft flush table), elements and all", () => {
    const whole = { ...table, rules: skeletonRules("inet") } as KernelObject;
    const flushed = { ...table, rules: 0 } as KernelObject;
    expect(plan([whole, natBridge], [whole, natBridge]).ops).toEqual([]);
    const { ops } = plan([whole, natBridge], [flushed, natBridge]);
    expect(ops).toEqual([replace(flushed, whole), create(natBridge)]);
  });

  // The kernel deletes the container end with the veth, and the container end's addresses and routes with
  // it: everything below a rebuilt object is rebuilt, however deep.
  it("re-creates the grandchildren (addresses, routes) of a replaced veth", () => {
    const old = { ...veth, mtu: 1400 } as KernelObject;
    const { ops } = plan(
      [bridge, ...endpoint.slice(0, 6)],
      [bridge, old, clink, addr4, addr6, route4, route6],
    );
    expect(ops).toEqual([
      replace(old, veth),
      create(clink),
      create(addr4),
      create(addr6),
      create(route4),
      create(route6),
    ]);
  });
});

describe("plan: delete", () => {
  it("deletes what is no longer desired", () => {
    expect(plan([bridge], [bridge, orphanBridge]).ops).toEqual([del(orphanBridge)]);
  });

  it("deletes an endpoint by its veth and elements; children of the veth are not deleted separately", () => {
    const { ops } = plan([...globals, ...network, ...overlay], everything);
    expect(ops).toEqual([del(portmap), del(veth)]);
  });

  it("deletes a network with its endpoint children-first, leaving addresses, sysctls and peers to their link", () => {
    const { ops } = plan(globals, everything);
    expect(ops).toEqual([del(natBridge), del(masq4), del(portmap), del(vxlan), del(veth), del(bridge)]);
  });

  it("deletes a peer alone while its vxlan device stays", () => {
    expect(plan([bridge, vxlan], [bridge, vxlan, peer]).ops).toEqual([del(peer)]);
  });

  it("does not delete elements separately when the table goes", () => {
    const { ops } = plan([], [table, natBridge, portmap]);
    expect(ops).toEqual([del(table)]);
  });

  it("deletes a lone address or route whose link stays", () => {
    const { ops } = plan([bridge, veth, clink, addr4], [bridge, gw4, veth, clink, addr4, route4]);
    expect(ops).toEqual([del(route4), del(gw4)]);
  });

  it("deletes and creates in one plan: deletes first", () => {
    const { ops } = plan([table, bridge, natBridge], [table, orphanBridge]);
    expect(ops).toEqual([del(orphanBridge), create(bridge), create(natBridge)]);
  });
});

describe("plan: scoped (a parent outside the scope)", () => {
  it("creates and deletes elements without the table in scope, leaving the table alone", () => {
    expect(plan([portmap], []).ops).toEqual([create(portmap)]);
    expect(plan([], [portmap]).ops).toEqual([del(portmap)]);
  });

  it("creates an endpoint's objects without its network in scope", () => {
    const { ops } = plan([veth, clink, addr4, route4], []);
    expect(ops).toEqual([create(veth), create(clink), create(addr4), create(route4)]);
  });

  it("marks a namespace whose lo lost its mark (hostnetd died between making and marking it), in place", () => {
    const ns: KernelObject = { kind: "netns", owner: "ns:n1", name: "c1", instance: "0123456789abcdef" };
    const unmarked: KernelObject = { ...ns, unmarked: true };
    expect(plan([ns], [ns]).ops).toEqual([]);
    expect(plan([ns], [unmarked]).ops).toEqual([replace(unmarked, ns)]);
  });

  it("replaces a drifted child in place when its parent is outside the scope", () => {
    const old = { ...route4, via: "10.0.0.254" } as KernelObject;
    expect(plan([route4], [old]).ops).toEqual([replace(old, route4)]);
  });
});

describe("plan: ordering", () => {
  const scenarios: [string, readonly KernelObject[], readonly KernelObject[]][] = [
    ["from nothing", everything, []],
    ["to nothing", [], everything],
    ["network only to everything", everything, [...globals, ...network]],
    ["everything to globals", globals, everything],
    ["replace veth", everything, everything.map((o) => (o === veth ? { ...veth, mtu: 9000 } : o))],
    ["replace table", everything, everything.map((o) => (o === table ? { ...table, version: "x" } : o))],
    ["replace vxlan", everything, everything.map((o) => (o === vxlan ? { ...vxlan, vni: 1 } : o))],
  ];

  it.each(scenarios)("%s: deletes come before creates and replaces", (_name, desired, observed) => {
    const { ops } = plan(desired, observed);
    const firstUpsert = ops.findIndex((op) => op.action !== "delete");
    const lastDelete = ops.map((op) => op.action).lastIndexOf("delete");
    if (firstUpsert >= 0) expect(lastDelete).toBeLessThan(firstUpsert);
  });

  it.each(scenarios)(
    "%s: a parent is created before, and deleted after, its children",
    (_name, desired, observed) => {
      const { ops } = plan(desired, observed);
      const position = (action: string, id: string): number =>
        ops.findIndex((op) => op.action === action && identity(op.object) === id);
      ops.forEach((op, i) => {
        const parent = parentOf(op.object);
        if (parent === undefined) return;
        if (op.action === "create") {
          const p = Math.max(position("create", parent), position("replace", parent));
          if (p >= 0) expect(p).toBeLessThan(i);
        }
        if (op.action === "delete") {
          const p = position("delete", parent);
          if (p >= 0) expect(p).toBeGreaterThan(i);
        }
      });
    },
  );

  it("orders ops deterministically: the same input gives the same plan", () => {
    expect(ids(plan(everything, []).ops)).toEqual(ids(plan([...everything], []).ops));
    const shuffled = [...everything].reverse();
    expect(new Set(ids(plan(shuffled, []).ops))).toEqual(new Set(ids(plan(everything, []).ops)));
  });
});

describe("plan: idempotence", () => {
  const drifted = (o: KernelObject): KernelObject => {
    switch (o.kind) {
      case "bridge":
        return { ...o, mtu: 1400 };
      case "route":
        return { ...o, via: o.family === 4 ? "10.0.0.254" : "fd00::fe" };
      case "routeRule":
        return { ...o, suppressPrefixLength: 32 };
      case "sysctl":
        return { ...o, value: "0" };
      case "nftElement":
        return { ...o, owner: "orphan" };
      case "nftChain":
        return { ...o, rules: [] };
      case "nftSet":
        return { ...o, declaration: "" };
      case "containerLink":
        return { ...o, mac: "02:11:11:11:11:11" };
      case "vxlan":
        return { ...o, vni: o.vni + 1 };
      case "overlayPeer":
        return { ...o, addresses: ["10.0.0.9"], remote: "192.0.2.9" };
      case "address":
      case "loopbackProxy":
      case "netns":
      case "nftTable":
      case "veth":
      case "ifb":
      case "ingressRedirect":
        return o;
      case "uplinkPort":
        return { ...o, master: "hnb-elsewhere" };
      case "portVlan":
        return { ...o, vid: o.vid + 1, stray: [1] };
      case "hostRoute":
        return { ...o, route: { ...o.route, via: "10.0.0.253" } };
      case "vipRoute":
        return { ...o, via: [...o.via, "10.0.0.252"] };
      case "shaper":
        return { ...o, bytesPerSecond: o.bytesPerSecond + 1 };
      case "iptablesChain":
        return { ...o, rules: [] };
      case "firewalldInterface":
        return { ...o, zone: "public" };
      case "resolvConf":
        return { ...o, text: "nameserver 192.0.2.53\n" };
      case "dnsListener":
        return { ...o, owner: "orphan" };
      case "iptablesJump":
        return o;
    }
  };
  const orphans: KernelObject[] = [
    orphanBridge,
    address("orphan", null, orphanBridge.name, "10.9.0.1/24"),
    element("orphan", "natBridges", [ifname(orphanBridge.name)]),
  ];

  const scenarios: [string, readonly KernelObject[], readonly KernelObject[]][] = [
    ["empty kernel", everything, []],
    ["everything removed", [], everything],
    ["endpoint removed", [...globals, ...network], everything],
    ["endpoint added", everything, [...globals, ...network]],
    ["drift in every field that can drift", everything, everything.map(drifted)],
    ["orphans next to desired objects", everything, [...everything, ...orphans]],
    [
      "new nft table version",
      everything,
      everything.map((o) => (o === table ? { ...table, version: "old" } : o)),
    ],
    ["bridge MTU change", everything, everything.map((o) => (o === bridge ? { ...bridge, mtu: 9000 } : o))],
    [
      "replaced veth without addresses",
      [...globals, bridge, veth, clink],
      [...globals, bridge, { ...veth, mtu: 1400 }, clink],
    ],
    ["peer moved to another host", everything, everything.map((o) => (o === peer ? drifted(peer) : o))],
    ["vxlan re-created", everything, everything.map((o) => (o === vxlan ? { ...vxlan, mtu: 1400 } : o))],
    ["vxlan removed with its peers", [...globals, ...network, ...endpoint], everything],
  ];

  it.each(scenarios)("%s: plan(d, apply(plan(d, o), o)) is empty", (_name, desired, observed) => {
    const after = applied(observed, plan(desired, observed).ops);
    expect(ids(plan(desired, after).ops)).toEqual([]);
    expect(new Set(after.map(identity))).toEqual(new Set(desired.map(identity)));
  });

  it("replaced veth with addresses and routes converges in one plan", () => {
    const observed = everything.map((o) => (o === veth ? { ...veth, mtu: 1400 } : o));
    const after = applied(observed, plan(everything, observed).ops);
    expect(ids(plan(everything, after).ops)).toEqual([]);
  });
});
