import { describe, expect, it } from "vitest";
import type { Runner } from "../../../src/dataplane/linux/exec.js";
import { NETNS_DIR, namespaceNsid } from "../../../src/dataplane/naming.js";
import { observe, peersOf, type FdbEntry, type Neighbour } from "../../../src/dataplane/observe.js";
import type { Namespace } from "../../../src/model/types.js";
import { ruleDigest, sameState } from "../../../src/dataplane/objects.js";
import { observeNft } from "../../../src/dataplane/observe-nft.js";
import { hostRouteOf } from "../../../src/dataplane/uplink.js";
import { BRIDGE, peer, VXLAN } from "./samples.js";

const MAC = "02:00:00:00:00:03";
/** As `bridge -j fdb show dev VXLAN` prints them (iproute2 6.1), with the port's own address. */
const selfEntry: FdbEntry = { mac: MAC, dst: "192.0.2.2", state: "static" };
const toPort: FdbEntry = { mac: MAC, master: BRIDGE, state: "static" };
const portAddress: FdbEntry = { mac: "c6:ad:73:4f:80:ff", master: BRIDGE, state: "permanent" };
const neighbour: Neighbour = { dst: "10.0.0.3", lladdr: MAC };

const observed = (addresses: string[], remote: string) => ({
  kind: "overlayPeer",
  owner: "orphan",
  vxlan: VXLAN,
  bridge: BRIDGE,
  mac: MAC,
  addresses,
  remote,
});

describe("peersOf", () => {
  it("joins a MAC's FDB entries and neighbour entry into an orphan peer in the desired state", () => {
    const found = peersOf(VXLAN, BRIDGE, [toPort, portAddress, selfEntry], [neighbour]);
    expect(found).toEqual([observed(["10.0.0.3"], "192.0.2.2")]);
    expect(found[0] !== undefined && sameState(peer, found[0])).toBe(true);
  });

  it("reports a peer without its neighbour entry, or without its FDB entries, for the plan to repair", () => {
    expect(peersOf(VXLAN, BRIDGE, [toPort, selfEntry], [])).toEqual([observed([], "192.0.2.2")]);
    expect(peersOf(VXLAN, BRIDGE, [portAddress], [neighbour])).toEqual([observed(["10.0.0.3"], "")]);
  });

  it("counts a remote only with both of its FDB entries, which a delete removes together", () => {
    expect(peersOf(VXLAN, BRIDGE, [selfEntry], [neighbour])).toEqual([observed(["10.0.0.3"], "")]);
    expect(peersOf(VXLAN, BRIDGE, [toPort], [neighbour])).toEqual([observed(["10.0.0.3"], "")]);
  });

  it("joins a dual-stack peer's neighbour entries, one per address, to its MAC's one peer", () => {
    const neighbour6: Neighbour = { dst: "fd00::3", lladdr: MAC };
    const found = peersOf(VXLAN, BRIDGE, [toPort, selfEntry], [neighbour, neighbour6]);
    expect(found).toEqual([observed(["10.0.0.3", "fd00::3"], "192.0.2.2")]);
    const desired = { ...peer, addresses: ["fd00::3", "10.0.0.3"] };
    expect(found[0] !== undefined && sameState(desired, found[0])).toBe(true);
    expect(found[0] !== undefined && sameState(peer, found[0])).toBe(false);
  });

  it("sees no peer in the bridge's entries for the port's own address", () => {
    expect(peersOf(VXLAN, BRIDGE, [portAddress], [])).toEqual([]);
  });
});

describe("hostRouteOf", () => {
  it("keeps a route's onlink flag, which a routed overlay's remote subnets need to be re-created", () => {
    const shown = { dst: "10.244.2.0/24", gateway: "10.244.2.0", dev: "hnb-1", flags: ["onlink"] };
    expect(hostRouteOf(shown, 4)).toEqual({
      family: 4,
      dst: "10.244.2.0/24",
      via: "10.244.2.0",
      metric: null,
      onlink: true,
    });
    expect(hostRouteOf({ ...shown, flags: [] }, 4)).not.toHaveProperty("onlink");
  });
});

describe("observe: named namespaces", () => {
  const INSTANCE = "0123456789abcdef";
  const made = "aaaa1111-0000-4000-8000-000000000001";
  const orphan = "bbbb2222-0000-4000-8000-000000000002";
  const others = "cccc3333-0000-4000-8000-000000000003";
  const loWithAlias = (alias: string): string =>
    JSON.stringify([{ ifname: "lo", ifalias: alias, mtu: 65536 }]);

  /** A kernel with 300 foreign namespaces beside hostnet's; it records every command observation runs. */
  function kernel(): { runner: Runner; ran: string[][] } {
    const ran: string[][] = [];
    const netns = [
      ...Array.from({ length: 300 }, (_, i) => ({
        name: `foreign${String(i)}`,
        ...(i % 2 ? { id: i } : {}),
      })),
      { name: "made" },
      { name: "orphan", id: namespaceNsid(`ns:${orphan}`) },
      { name: "others", id: namespaceNsid(`ns:${others}`) },
    ];
    const answers: Record<string, string> = {
      "ip -j netns list": JSON.stringify(netns),
      [`nsenter --net=${NETNS_DIR}/made ip -j -d addr show`]: loWithAlias(`hostnet:ns:${made}@${INSTANCE}`),
      [`nsenter --net=${NETNS_DIR}/orphan ip -j link show dev lo`]: loWithAlias(
        `hostnet:ns:${orphan}@${INSTANCE}`,
      ),
      [`nsenter --net=${NETNS_DIR}/others ip -j link show dev lo`]: loWithAlias(
        `hostnet:ns:${others}@fedcba9876543210`,
      ),
    };
    const runner: Runner = {
      run: (argv) => {
        ran.push([...argv]);
        const line = argv.join(" ");
        if (argv[0] === "nft") return Promise.reject(new Error("no table"));
        return Promise.resolve({ stdout: answers[line] ?? "[]", stderr: "" });
      },
    };
    return { runner, ran };
  }

  it("enters no namespace but the store's and those carrying hostnet's namespace id", async () => {
    const { runner, ran } = kernel();
    const store: Namespace[] = [{ id: made, name: "made", path: `${NETNS_DIR}/made`, owned: true }];
    const found = await observe(runner, store, INSTANCE);
    expect(found.filter((o) => o.kind === "netns")).toEqual(
      expect.arrayContaining([
        { kind: "netns", owner: `ns:${made}`, name: "made", instance: INSTANCE },
        { kind: "netns", owner: `ns:${orphan}`, name: "orphan", instance: INSTANCE },
      ]),
    );
    expect(found.filter((o) => o.kind === "netns")).toHaveLength(2);
    const entered = new Set(ran.filter((argv) => argv[0] === "nsenter").map((argv) => argv[1]));
    expect([...entered].sort()).toEqual([
      `--net=${NETNS_DIR}/made`,
      `--net=${NETNS_DIR}/orphan`,
      `--net=${NETNS_DIR}/others`,
    ]);
  });

  it("reads an endpoint's routes in main and numbered tables, not a route someone put in a named one", async () => {
    const endpoint = "dddd4444-0000-4000-8000-000000000004";
    const path = `${NETNS_DIR}/made`;
    const route = (table: string): object => ({ dst: "default", gateway: "10.1.0.1", dev: "eth0", table });
    const answers: Record<string, string> = {
      "ip -j netns list": JSON.stringify([{ name: "made" }]),
      [`nsenter --net=${path} ip -j -d addr show`]: JSON.stringify([
        { ifname: "lo", ifalias: `hostnet:ns:${made}@${INSTANCE}`, mtu: 65536 },
        { ifname: "eth0", ifalias: `hostnet:ep:${endpoint}`, mtu: 1500, address: "02:00:00:00:00:01" },
      ]),
      [`nsenter --net=${path} ip -j route show table all`]: JSON.stringify(
        ["main", "1001", "local"].map(route),
      ),
    };
    const runner: Runner = {
      run: (argv) =>
        argv[0] === "nft"
          ? Promise.reject(new Error("no table"))
          : Promise.resolve({ stdout: answers[argv.join(" ")] ?? "[]", stderr: "" }),
    };
    const store: Namespace[] = [{ id: made, name: "made", path, owned: true }];
    const found = await observe(runner, store, INSTANCE);
    expect(found.flatMap((o) => (o.kind === "route" ? [o.table] : []))).toEqual([undefined, 1001]);
  });
});

describe("observeNft: an owner's chains and sets", () => {
  it("reads them by their names, a chain's rules by their digests, and counts only the skeleton's rules", async () => {
    const name = "lb_dddd4444-0000-4000-8000-000000000004_4";
    const rule = "ip saddr . ip daddr . meta l4proto . th dport @x goto y";
    const listing = {
      nftables: [
        { table: { family: "inet", name: "hostnet" } },
        { chain: { name: "version_abc" } },
        { chain: { name: "lb_dnat4" } },
        { chain: { name } },
        { set: { name: `${name}_60s`, elem: [{ elem: { val: "192.0.2.7" } }] } },
        { rule: { chain: "lb_dnat4" } },
        { rule: { chain: name, comment: ruleDigest(rule) } },
      ],
    };
    const runner: Runner = {
      run: (argv) =>
        Promise.resolve({
          stdout: argv.includes("inet") ? JSON.stringify(listing) : `{"nftables": []}`,
          stderr: "",
        }),
    };
    const objects = await observeNft(runner);
    const owner = "lb:dddd4444-0000-4000-8000-000000000004";
    expect(objects).toEqual([
      { kind: "nftSet", owner, family: "inet", name: `${name}_60s`, declaration: "" },
      { kind: "nftChain", owner, family: "inet", name, rules: [ruleDigest(rule)], digests: true },
      { kind: "nftTable", owner: "global", family: "inet", version: "abc", rules: 1 },
    ]);
    const desired = { kind: "nftChain", owner, family: "inet", name, rules: [rule] } as const;
    expect(objects.some((o) => sameState(desired, o))).toBe(true);
    expect(objects.some((o) => sameState({ ...desired, rules: [rule, "accept"] }, o))).toBe(false);
  });
});
