import { describe, expect, it } from "vitest";
import { ruleDigest, type KernelObject } from "../../../src/dataplane/objects.js";
import { plan } from "../../../src/dataplane/plan.js";
import { LB_DRAW_TRIES } from "../../../src/dataplane/nft-sets.js";
import {
  nftLines as phasedNftLines,
  nftScript,
  skeletonVersion,
  type NftLine,
} from "../../../src/dataplane/render/nft.js";
import type { Op } from "../../../src/dataplane/plan.js";
import { batches, ipArgv, steps, type Step } from "../../../src/dataplane/render/steps.js";
import { addr, create, del, element, ifname, port, proto, replace } from "../../helpers/plan-ops.js";
import {
  addr4,
  addr6,
  bridge,
  BRIDGE,
  clink,
  endpoint,
  EP,
  everything,
  forward,
  globals,
  gw4,
  gw6,
  localnet,
  masq4,
  NET,
  natBridge,
  network,
  NS,
  peer,
  portmap,
  route4,
  route6,
  table,
  veth,
  VETH,
  vxlan,
  VXLAN,
} from "./samples.js";

/** An op's nft lines as text, in their order within the op. */
const nftLines = (op: Op): string[] => phasedNftLines(op).map((l) => l.text);

const HOST = { kind: "ip", netns: null } as const;
const IN_NS = { kind: "ip", netns: NS } as const;
const NFT = { kind: "nft" } as const;
const FDB = { kind: "bridge" } as const;

const hostLines = (...lines: string[]): Step[] => lines.map((line) => ({ runner: HOST, line }));
const fdbLines = (...lines: string[]): Step[] => lines.map((line) => ({ runner: FDB, line }));
const nsLines = (...lines: string[]): Step[] => lines.map((line) => ({ runner: IN_NS, line }));
const nft = (...lines: string[]): Step[] =>
  lines.map((line) => ({ runner: NFT, line, nftPhase: expect.any(Number) as NftLine["phase"] }));

describe("steps: ip lines", () => {
  it("creates a bridge with its MTU, alias and up", () => {
    expect(steps([create(bridge)])).toEqual(
      hostLines(`link add ${BRIDGE} mtu 1500 type bridge`, `link set dev ${BRIDGE} alias hostnet:${NET} up`),
    );
  });

  it("changes only the MTU when a bridge is replaced", () => {
    const to = { ...bridge, mtu: 9000 } as KernelObject;
    expect(steps([replace(bridge, to)])).toEqual(hostLines(`link set dev ${BRIDGE} mtu 9000`));
  });

  it("creates a veth with its peer in the namespace, on the bridge, with hairpin", () => {
    expect(steps([create(veth)])).toEqual(
      hostLines(
        `link add ${VETH} mtu 1500 type veth peer name eth0 mtu 1500 netns ${NS}`,
        `link set dev ${VETH} addrgenmode none`,
        `link set dev ${VETH} master ${BRIDGE} alias hostnet:${EP} up`,
        `link set dev ${VETH} type bridge_slave hairpin on isolated off`,
      ),
    );
    const noHairpin = { ...veth, hairpin: false } as KernelObject;
    expect(steps([create(noHairpin)]).at(-1)?.line).toBe(
      `link set dev ${VETH} type bridge_slave hairpin off isolated off`,
    );
  });

  it("enslaves a veth again in place, with its port flags, when its MTU stays", () => {
    const released = { ...veth, master: "", hairpin: false } as KernelObject;
    expect(steps([replace(released, veth)]).map((s) => s.line)).toEqual([
      `link set dev ${VETH} master ${BRIDGE} up`,
      `link set dev ${VETH} type bridge_slave hairpin on isolated off`,
    ]);
  });

  it("replaces a veth by deleting and re-creating it", () => {
    const from = { ...veth, mtu: 1400 } as KernelObject;
    expect(steps([replace(from, veth)]).map((s) => s.line)).toEqual([
      `link del dev ${VETH}`,
      ...steps([create(veth)]).map((s) => s.line),
    ]);
  });

  it("sets the container end's MAC, alias and up inside the namespace", () => {
    expect(steps([create(clink)])).toEqual(
      nsLines(`link set dev eth0 address 02:00:00:00:00:02 alias hostnet:${EP} up`),
    );
    expect(steps([create({ ...clink, noLinkLocal6: true })])).toEqual(
      nsLines(
        "link set dev eth0 addrgenmode none",
        `link set dev eth0 address 02:00:00:00:00:02 alias hostnet:${EP} up`,
      ),
    );
  });

  it("adds addresses with replace; IPv6 without DAD", () => {
    expect(steps([create(gw4), create(gw6), create(addr4), create(addr6)])).toEqual([
      ...hostLines(`addr replace 10.0.0.1/24 dev ${BRIDGE}`, `addr replace fd00::1/64 dev ${BRIDGE} nodad`),
      ...nsLines("addr replace 10.0.0.2/24 dev eth0", "addr replace fd00::2/64 dev eth0 nodad"),
    ]);
  });

  it("deletes addresses where they live", () => {
    expect(steps([del(gw4), del(addr6)])).toEqual([
      ...hostLines(`addr del 10.0.0.1/24 dev ${BRIDGE}`),
      ...nsLines("addr del fd00::2/64 dev eth0"),
    ]);
  });

  it("writes default routes per family as explicit prefixes", () => {
    expect(steps([create(route4), create(route6)])).toEqual(
      nsLines("route replace 0.0.0.0/0 via 10.0.0.1 dev eth0", "route replace ::/0 via fd00::1 dev eth0"),
    );
    expect(steps([del(route6)])).toEqual(nsLines("route del ::/0 via fd00::1 dev eth0"));
    const moved = { ...route4, via: "10.0.0.254" } as KernelObject;
    expect(steps([replace(route4, moved)])).toEqual(
      nsLines("route replace 0.0.0.0/0 via 10.0.0.254 dev eth0"),
    );
  });

  it("writes a non-default route destination as it is", () => {
    const r: KernelObject = { ...route4, dst: "192.168.0.0/16" };
    expect(steps([create(r)])).toEqual(nsLines("route replace 192.168.0.0/16 via 10.0.0.1 dev eth0"));
  });

  it("deletes links by name", () => {
    expect(steps([del(veth), del(bridge), del(clink)])).toEqual([
      ...hostLines(`link del dev ${VETH}`, `link del dev ${BRIDGE}`),
      ...nsLines("link del dev eth0"),
    ]);
  });

  it("adds a named namespace and marks its lo", () => {
    const ns: KernelObject = {
      kind: "netns",
      owner: "ns:cccc3333-0000-4000-8000-000000000003",
      name: "c1",
      instance: "0123456789abcdef",
    };
    expect(steps([create(ns)])).toEqual([
      ...hostLines("netns add c1", "netns set c1 1288450867"),
      ...nsLines("link set dev lo alias hostnet:ns:cccc3333-0000-4000-8000-000000000003@0123456789abcdef up"),
    ]);
    expect(steps([del(ns)])).toEqual(hostLines("netns del c1"));
    // One found without its mark keeps its processes and interfaces: it is only marked.
    expect(steps([replace({ ...ns, unmarked: true }, ns)])).toEqual(
      nsLines("link set dev lo alias hostnet:ns:cccc3333-0000-4000-8000-000000000003@0123456789abcdef up"),
    );
  });

  it("writes sysctls as key=value and never deletes them", () => {
    expect(steps([create(forward), create(localnet)])).toEqual([
      { runner: { kind: "sysctl" }, line: "net/ipv4/ip_forward=1" },
      { runner: { kind: "sysctl" }, line: `net/ipv4/conf/${BRIDGE}/route_localnet=1` },
    ]);
    expect(steps([del(localnet)])).toEqual([]);
  });

  it("opens and closes loopback proxies with the command attached", () => {
    const proxy: KernelObject = {
      kind: "loopbackProxy",
      owner: EP,
      protocol: "tcp",
      port: 8080,
      target: "fd00::2",
      targetPort: 80,
    };
    const [open] = steps([create(proxy)]);
    expect(open?.runner).toEqual({ kind: "proxy" });
    expect(open?.line).toBe(`open loopback proxy [::1]:8080/tcp to [fd00::2]:80 (${EP})`);
    expect(open?.proxy).toEqual({ action: "open", spec: proxy });
    const [close] = steps([del(proxy)]);
    expect(close?.proxy).toEqual({ action: "close", protocol: "tcp", port: 8080 });
  });
});

describe("steps: VLANs", () => {
  const vlan = (vid: number, stray: number[] = []): KernelObject => ({
    kind: "portVlan",
    owner: EP,
    dev: VETH,
    bridge: BRIDGE,
    uplink: "lan0",
    vid,
    stray,
  });

  it("puts a port on its VLAN alone, on a filtering bridge whose uplink is a trunk", () => {
    expect(steps([create(vlan(10))])).toEqual([
      ...hostLines(`link set dev ${BRIDGE} type bridge vlan_filtering 1`),
      ...fdbLines(
        "vlan add dev lan0 vid 2-4094",
        `vlan add dev ${VETH} vid 10 pvid untagged`,
        `vlan add dev ${VETH} vid 1`,
        `vlan del dev ${VETH} vid 1`,
      ),
    ]);
  });

  it("moves a port to another VLAN, taking it off the old one and any stray", () => {
    expect(steps([replace(vlan(10, [7]), vlan(20))]).slice(-2)).toEqual(
      fdbLines(`vlan del dev ${VETH} vid 10`, `vlan del dev ${VETH} vid 7`),
    );
  });

  it("gives a port back the bridge's default, VLAN 1, when its VLAN goes", () => {
    expect(steps([del(vlan(10, [1, 7]))])).toEqual(
      fdbLines(
        `vlan add dev ${VETH} vid 1 pvid untagged`,
        `vlan del dev ${VETH} vid 10`,
        `vlan del dev ${VETH} vid 7`,
      ),
    );
  });
});

describe("steps: overlay", () => {
  const vxlanLines = [
    `link add ${VXLAN} mtu 1450 type vxlan id 4096 dstport 4789 local 192.0.2.1 nolearning`,
    `link set dev ${VXLAN} addrgenmode none`,
    `link set dev ${VXLAN} master ${BRIDGE} alias hostnet:${NET} up`,
    `link set dev ${VXLAN} type bridge_slave neigh_suppress on learning off`,
  ];
  const peerLines = [
    ...fdbLines(
      `fdb replace 02:00:00:00:00:03 dev ${VXLAN} dst 192.0.2.2 self static`,
      `fdb replace 02:00:00:00:00:03 dev ${VXLAN} master static`,
    ),
    ...hostLines(`neigh replace 10.0.0.3 lladdr 02:00:00:00:00:03 dev ${BRIDGE} nud permanent`),
  ];

  it("routes a remote subnet on the bridge to a next hop no address of it covers (onlink)", () => {
    const route: KernelObject = {
      kind: "hostRoute",
      owner: `net:${NET}`,
      dev: BRIDGE,
      route: { family: 4, dst: "10.244.2.0/24", via: "10.244.2.0", metric: null, onlink: true },
    };
    expect(steps([create(route)])).toEqual(
      hostLines(`route replace 10.244.2.0/24 via 10.244.2.0 dev ${BRIDGE} onlink`),
    );
    expect(steps([del(route)])).toEqual(hostLines(`route del 10.244.2.0/24 via 10.244.2.0 dev ${BRIDGE}`));
  });

  it("creates a vxlan device as a bridge port that neither learns nor floods", () => {
    expect(steps([create(vxlan)])).toEqual(hostLines(...vxlanLines));
  });

  it("deletes a vxlan device with its peers' neighbour entries on the bridge", () => {
    expect(steps([del(vxlan)])).toEqual(
      hostLines(`neigh flush dev ${BRIDGE} nud permanent`, `link del dev ${VXLAN}`),
    );
    expect(steps([del({ ...vxlan, master: "" })])).toEqual(hostLines(`link del dev ${VXLAN}`));
  });

  it("replaces a vxlan device by deleting and re-creating it", () => {
    const from = { ...vxlan, vni: 4097 } as KernelObject;
    expect(steps([replace(from, vxlan)])).toEqual(
      hostLines(`neigh flush dev ${BRIDGE} nud permanent`, `link del dev ${VXLAN}`, ...vxlanLines),
    );
  });

  it("re-creates a vxlan device's peers when the plan replaces it", () => {
    const from = { ...vxlan, port: 8472 } as KernelObject;
    expect(steps(plan([bridge, vxlan, peer], [bridge, from, peer]).ops)).toEqual([
      ...hostLines(`neigh flush dev ${BRIDGE} nud permanent`, `link del dev ${VXLAN}`, ...vxlanLines),
      ...peerLines,
    ]);
  });

  it("creates a peer: the vxlan device's entry to the remote host, the bridge's to the port, the neighbour", () => {
    expect(steps([create(peer)])).toEqual(peerLines);
  });

  it("deletes a peer's FDB entries and neighbour entry, each only if it was there", () => {
    expect(steps([del(peer)])).toEqual([
      ...fdbLines(
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} dst 192.0.2.2 self`,
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} master`,
      ),
      ...hostLines(`neigh del 10.0.0.3 dev ${BRIDGE}`),
    ]);
    expect(steps([del({ ...peer, addresses: [] })])).toEqual(
      fdbLines(
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} dst 192.0.2.2 self`,
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} master`,
      ),
    );
    expect(steps([del({ ...peer, remote: "" })])).toEqual(hostLines(`neigh del 10.0.0.3 dev ${BRIDGE}`));
  });

  it("replaces a peer by creating it again, deleting the neighbour entry of an old address first", () => {
    const moved = { ...peer, remote: "192.0.2.9" } as KernelObject;
    expect(steps([replace(moved, peer)])).toEqual(peerLines);
    const readdressed = { ...peer, addresses: ["10.0.0.9"] } as KernelObject;
    expect(steps([replace(readdressed, peer)])).toEqual([
      ...peerLines.slice(0, 2),
      ...hostLines(`neigh del 10.0.0.9 dev ${BRIDGE}`),
      ...peerLines.slice(2),
    ]);
    expect(steps([replace({ ...peer, addresses: [] }, peer)])).toEqual(peerLines);
  });

  it("gives a dual-stack peer one pair of FDB entries and a neighbour entry per address", () => {
    const dual = { ...peer, addresses: ["10.0.0.3", "fd00::3"] } as KernelObject;
    expect(steps([create(dual)])).toEqual([
      ...peerLines,
      ...hostLines(`neigh replace fd00::3 lladdr 02:00:00:00:00:03 dev ${BRIDGE} nud permanent`),
    ]);
    // Its IPv6 address gone, the peer keeps its FDB entries and IPv4 neighbour entry; the IPv6 one goes.
    expect(steps([replace(dual, peer)])).toEqual([
      ...peerLines.slice(0, 2),
      ...hostLines(`neigh del fd00::3 dev ${BRIDGE}`),
      ...peerLines.slice(2),
    ]);
    expect(steps([del(dual)])).toEqual([
      ...fdbLines(
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} dst 192.0.2.2 self`,
        `fdb del 02:00:00:00:00:03 dev ${VXLAN} master`,
      ),
      ...hostLines(`neigh del 10.0.0.3 dev ${BRIDGE}`, `neigh del fd00::3 dev ${BRIDGE}`),
    ]);
  });

  it("gives consecutive peers' FDB lines first, then their neighbour lines, each in plan order", () => {
    const other = { ...peer, mac: "02:00:00:00:00:04", addresses: ["10.0.0.4"] } as KernelObject;
    const gone = {
      ...peer,
      mac: "02:00:00:00:00:05",
      addresses: ["10.0.0.5"],
      remote: "192.0.2.5",
    } as KernelObject;
    const readdressed = { ...other, addresses: ["10.0.0.9"] } as KernelObject;
    expect(steps([del(gone), create(peer), replace(readdressed, other), create(route4)])).toEqual([
      ...fdbLines(
        `fdb del 02:00:00:00:00:05 dev ${VXLAN} dst 192.0.2.5 self`,
        `fdb del 02:00:00:00:00:05 dev ${VXLAN} master`,
        `fdb replace 02:00:00:00:00:03 dev ${VXLAN} dst 192.0.2.2 self static`,
        `fdb replace 02:00:00:00:00:03 dev ${VXLAN} master static`,
        `fdb replace 02:00:00:00:00:04 dev ${VXLAN} dst 192.0.2.2 self static`,
        `fdb replace 02:00:00:00:00:04 dev ${VXLAN} master static`,
      ),
      ...hostLines(
        `neigh del 10.0.0.5 dev ${BRIDGE}`,
        `neigh replace 10.0.0.3 lladdr 02:00:00:00:00:03 dev ${BRIDGE} nud permanent`,
        `neigh del 10.0.0.9 dev ${BRIDGE}`,
        `neigh replace 10.0.0.4 lladdr 02:00:00:00:00:04 dev ${BRIDGE} nud permanent`,
      ),
      ...nsLines("route replace 0.0.0.0/0 via 10.0.0.1 dev eth0"),
    ]);
  });
});

describe("nft lines", () => {
  it("adds a set element with its owner as comment", () => {
    expect(steps([create(natBridge)])).toEqual(
      nft(`add element inet hostnet natBridges { "${BRIDGE}" comment "${NET}" }`),
    );
    expect(nftLines(create(masq4))).toEqual([
      `add element inet hostnet masq4 { 10.0.0.0/24 comment "${NET}" }`,
    ]);
  });

  it("adds a map element with key, comment and value", () => {
    expect(nftLines(create(portmap))).toEqual([
      `add element inet hostnet portmap4 { tcp . 8080 comment "${EP}" : 10.0.0.2 . 80 }`,
    ]);
  });

  it("adds concatenated keys with quoted interface names", () => {
    const same = element(NET, "sameBridge", [ifname(BRIDGE), ifname(BRIDGE)]);
    expect(nftLines(create(same))).toEqual([
      `add element inet hostnet sameBridge { "${BRIDGE}" . "${BRIDGE}" comment "${NET}" }`,
    ]);
  });

  it("deletes an element by key only", () => {
    expect(nftLines(del(portmap))).toEqual(["delete element inet hostnet portmap4 { tcp . 8080 }"]);
    expect(nftLines(del(natBridge))).toEqual([`delete element inet hostnet natBridges { "${BRIDGE}" }`]);
  });

  it("replaces an element by deleting its key and adding it with the new value and comment", () => {
    const from = { ...portmap, owner: "orphan" } as KernelObject;
    expect(nftLines(replace(from, portmap))).toEqual([
      "delete element inet hostnet portmap4 { tcp . 8080 }",
      `add element inet hostnet portmap4 { tcp . 8080 comment "${EP}" : 10.0.0.2 . 80 }`,
    ]);
  });

  it("gives nft each set's deletes, then each set's adds, as one command each, after the table commands", () => {
    const other = element(EP, "portmap4", [proto("tcp"), port(9090)], [addr("10.0.0.3"), port(80)]);
    const from = { ...portmap, owner: "orphan" } as KernelObject;
    const lines = steps([replace(from, portmap), del(natBridge), create(other), create(table)]);
    const script = nftScript(lines.map((s) => s.line));
    const tableText = `${nftLines(create(table)).join("\n")}\n`;
    expect(script.startsWith(tableText)).toBe(true);
    expect(script.slice(tableText.length).split("\n")).toEqual([
      "delete element inet hostnet portmap4 { tcp . 8080 }",
      `delete element inet hostnet natBridges { "${BRIDGE}" }`,
      `add element inet hostnet portmap4 { tcp . 8080 comment "${EP}" : 10.0.0.2 . 80, tcp . 9090 comment "${EP}" : 10.0.0.3 . 80 }`,
      "",
    ]);
  });

  it("binds a mapping to a host address with a three-part key", () => {
    const bound = element(
      EP,
      "portmapIp6",
      [addr("2001:db8::5"), proto("udp"), port(53)],
      [addr("fd00::2"), port(5353)],
    );
    expect(nftLines(create(bound))).toEqual([
      `add element inet hostnet portmapIp6 { 2001:db8::5 . udp . 53 comment "${EP}" : fd00::2 . 5353 }`,
    ]);
  });

  it("(re)creates the table atomically: add, delete, then the whole skeleton", () => {
    const lines = nftLines(create(table));
    expect(lines.slice(0, 2)).toEqual(["add table inet hostnet", "delete table inet hostnet"]);
    expect(lines).toHaveLength(3);
    const skeleton = lines[2] ?? "";
    expect(skeleton.startsWith("table inet hostnet {\n")).toBe(true);
    expect(skeleton).toContain(`chain version_${skeletonVersion()} {`);
    expect(skeleton).toContain("set masq4 { type ipv4_addr; flags interval; }");
    expect(skeleton).toContain("set masq6 { type ipv6_addr; flags interval; }");
    expect(skeleton).toContain("set hairpin6 { type ifname . ipv6_addr; flags interval; }");
    expect(skeleton).toContain("set natBridges { type ifname; }");
    expect(skeleton).toContain("set sameBridge { type ifname . ifname; }");
    expect(skeleton).toContain("map portmap4 { type inet_proto . inet_service : ipv4_addr . inet_service; }");
    expect(skeleton).toContain(
      "map portmapIp6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }",
    );
    expect(nftLines(replace({ ...table, version: "old" }, table))).toEqual(lines);
    expect(nftLines(del(table))).toEqual(["delete table inet hostnet"]);
  });

  it("keeps its skeleton version, so an upgraded hostnetd does not rebuild its tables", () => {
    expect(skeletonVersion()).toBe("1cd87dc0ea51");
  });

  it("marks the connections a NodePort DNATs, and SNATs those alone by their NodePort's SourceVIP", () => {
    const skeleton = nftLines(create(table))[2] ?? "";
    expect(skeleton).toContain("map lbNodeSource4 { type inet_proto . inet_service : ipv4_addr; }");
    expect(skeleton).toContain("map lbNodeSource6 { type inet_proto . inet_service : ipv6_addr; }");
    expect(skeleton).toContain(
      "  chain lb_node_dnat4 {\n    ct mark set ct mark or 0x00100000\n    meta l4proto . th dport vmap @lbNodeSpread4\n",
    );
    expect(skeleton).toContain(
      "  chain lb_node_dnat6 {\n    ct mark set ct mark or 0x00100000\n    meta l4proto . th dport vmap @lbNodeSpread6\n",
    );
    const snat = (ip: string, family: number): string =>
      `    meta nfproto ipv${family} ct status dnat ct mark and 0x00100000 == 0x00100000 meta l4proto { tcp, udp } snat ${ip} to meta l4proto . ct original proto-dst map @lbNodeSource${family}`;
    // After the remote endpoints' SNAT (their host must see this one), before the VIPs' SourceVIPs.
    const lines = skeleton.split("\n");
    const at = (line: string): number => lines.indexOf(line);
    expect(at(snat("ip", 4))).toBeGreaterThan(
      at("    ct status dnat oifname . ip daddr @overlayRemote4 snat ip to oifname map @overlaySource4"),
    );
    expect(at(snat("ip6", 6))).toBe(at(snat("ip", 4)) + 1);
    expect(at("    meta nfproto ipv4 ct status dnat snat ip to ct original ip daddr map @lbSource4")).toBe(
      at(snat("ip", 4)) + 2,
    );
  });

  it("spreads a frontend's connections by its draw chain: tries below 2^J, then below 2^(J-1)", () => {
    const skeleton = nftLines(create(table))[2] ?? "";
    const lines = skeleton.split("\n");
    const chain = (name: string): string[] => {
      const start = lines.indexOf(`  chain ${name} {`) + 1;
      return lines.slice(start, lines.indexOf("  }", start));
    };
    expect(chain("lb_dnat6")).toEqual(["    ip6 daddr . meta l4proto . th dport vmap @lbSpread6"]);
    expect(chain("lb_dnat4").at(-1)).toBe("    ip daddr . meta l4proto . th dport vmap @lbSpread4");
    const draw = (mod: number): string =>
      `    meta l4proto { tcp, udp } dnat ip to ip daddr . meta l4proto . th dport . numgen random mod ${mod} map @lbBackends4`;
    expect(chain("lb_draw4_3")).toEqual([...Array.from({ length: LB_DRAW_TRIES }, () => draw(8)), draw(4)]);
    expect(chain("lb_draw4_1")).toEqual([draw(2)]);
    expect(chain("lb_draw4_0")).toEqual([draw(1)]);
    expect(skeleton).toContain("chain lb_draw6_12 {");
    expect(skeleton).not.toContain("chain lb_draw4_13 {");
  });

  it("has a 12-hex-digit skeleton version", () => {
    expect(skeletonVersion()).toMatch(/^[0-9a-f]{12}$/);
  });

  it("touches no table but inet hostnet", () => {
    const lines = steps(plan(everything, []).ops)
      .filter((s) => s.runner.kind === "nft")
      .flatMap((s) => s.line.split("\n"));
    for (const line of lines) {
      const tables = [...line.matchAll(/\btable\s+(\S+)\s+(\S+)/g)].map((m) => `${m[1] ?? ""} ${m[2] ?? ""}`);
      for (const t of tables) expect(t).toBe("inet hostnet");
      if (/^(add|delete) element/.test(line)) expect(line).toMatch(/^(add|delete) element inet hostnet /);
    }
  });

  it("orders an owner's chains and sets in the transaction by what refers to what, whatever the plan's order", () => {
    const LB = "lb:dddd4444-0000-4000-8000-000000000004" as const;
    const name = "lb_dddd4444-0000-4000-8000-000000000004";
    const set = (n: string): KernelObject => ({
      kind: "nftSet",
      owner: LB,
      family: "inet",
      name: n,
      declaration: "typeof ip saddr; flags dynamic,timeout; timeout 60s;",
    });
    const chain = (rules: string[]): KernelObject => ({
      kind: "nftChain",
      owner: LB,
      family: "inet",
      name: `${name}_4`,
      rules,
    });
    const spread = (to: string): KernelObject =>
      element(
        LB,
        "lbSpread4",
        [addr("198.51.100.10"), proto("tcp"), port(80)],
        [{ t: "verdict", v: `goto ${to}` }],
      );
    // Affinity turned off: the element leaves the chain before it goes, the set after the chain's rules.
    const off = plan(
      [spread("lb_draw4_0")],
      [spread(`${name}_4`), chain([`ip saddr @${name}_a goto x`]), set(`${name}_a`)],
    );
    expect(steps(off.ops).map((s) => s.line)).toEqual([
      `flush chain inet hostnet ${name}_4`,
      "delete element inet hostnet lbSpread4 { 198.51.100.10 . tcp . 80 }",
      `delete chain inet hostnet ${name}_4`,
      `delete set inet hostnet ${name}_a`,
      `add element inet hostnet lbSpread4 { 198.51.100.10 . tcp . 80 comment "${LB}" : goto lb_draw4_0 }`,
    ]);
    // A new timeout: new sets, the chain's rules emptied before the old set goes and added after the new one.
    const rule = (s: string): string => `ip saddr @${s} accept`;
    const retimed = plan(
      [chain([rule(`${name}_b`)]), set(`${name}_b`)],
      [chain([rule(`${name}_a`)]), set(`${name}_a`)],
    );
    expect(steps(retimed.ops).map((s) => s.line)).toEqual([
      `flush chain inet hostnet ${name}_4`,
      `delete set inet hostnet ${name}_a`,
      `add set inet hostnet ${name}_b { typeof ip saddr; flags dynamic,timeout; timeout 60s; }`,
      `add rule inet hostnet ${name}_4 ${rule(`${name}_b`)} comment "${ruleDigest(rule(`${name}_b`))}"`,
    ]);
    expect(nftLines(create(chain(["accept"])))).toEqual([
      `add chain inet hostnet ${name}_4`,
      `flush chain inet hostnet ${name}_4`,
      `add rule inet hostnet ${name}_4 accept comment "${ruleDigest("accept")}"`,
    ]);
  });

  it("gives nft one command per set for the elements of each phase, around an owner's chains and sets", () => {
    const LB = "lb:dddd4444-0000-4000-8000-000000000004" as const;
    const name = "lb_dddd4444-0000-4000-8000-000000000004";
    const spread = (vip: string, to: string): KernelObject =>
      element(LB, "lbSpread4", [addr(vip), proto("tcp"), port(80)], [{ t: "verdict", v: `goto ${to}` }]);
    const vips = ["198.51.100.10", "198.51.100.11", "198.51.100.12"] as const;
    const [a, b, c] = vips;
    // Affinity turned off: the frontends' elements leave the chain before it goes, and come back after.
    const off = plan(
      vips.map((vip) => spread(vip, "lb_draw4_0")),
      [
        spread(a, `${name}_4`),
        spread(b, `${name}_4`),
        { kind: "nftChain", owner: LB, family: "inet", name: `${name}_4`, rules: ["accept"] },
        {
          kind: "nftSet",
          owner: LB,
          family: "inet",
          name: `${name}_a`,
          declaration: "typeof ip saddr; flags dynamic,timeout; timeout 60s;",
        },
      ],
    );
    const added = (vip: string): string => `${vip} . tcp . 80 comment "${LB}" : goto lb_draw4_0`;
    expect(nftScript(steps(off.ops).map((s) => s.line))).toBe(
      [
        `flush chain inet hostnet ${name}_4`,
        `delete element inet hostnet lbSpread4 { ${a} . tcp . 80, ${b} . tcp . 80 }`,
        `delete chain inet hostnet ${name}_4`,
        `delete set inet hostnet ${name}_a`,
        `add element inet hostnet lbSpread4 { ${added(a)}, ${added(b)}, ${added(c)} }`,
        "",
      ].join("\n"),
    );
  });

  it("renders nothing for objects that are not nft's", () => {
    expect(nftLines(create(bridge))).toEqual([]);
  });
});

describe("batches", () => {
  it("merges consecutive lines of one runner and keeps runner changes in order", () => {
    const all = [
      ...hostLines("a1", "a2"),
      ...nsLines("n1"),
      ...hostLines("a3"),
      ...nsLines("n2", "n3"),
      { runner: { kind: "ip", netns: "/run/netns/other" }, line: "o1" } as Step,
    ];
    expect(batches(all)).toEqual([
      { runner: HOST, lines: ["a1", "a2"], proxy: [] },
      { runner: IN_NS, lines: ["n1"], proxy: [] },
      { runner: HOST, lines: ["a3"], proxy: [] },
      { runner: IN_NS, lines: ["n2", "n3"], proxy: [] },
      { runner: { kind: "ip", netns: "/run/netns/other" }, lines: ["o1"], proxy: [] },
    ]);
  });

  it("puts every nft line in ONE batch, at the place of the first", () => {
    const all = [
      ...hostLines("a1"),
      ...nft("e1"),
      ...hostLines("a2"),
      ...nft("e2"),
      ...hostLines("a3"),
      ...nft("e3"),
    ];
    expect(batches(all)).toEqual([
      { runner: HOST, lines: ["a1"], proxy: [] },
      { runner: NFT, lines: ["e1", "e2", "e3"], proxy: [] },
      { runner: HOST, lines: ["a2", "a3"], proxy: [] },
    ]);
  });

  it("groups sysctl lines and collects proxy commands", () => {
    const proxyStep = (port: number): Step => ({
      runner: { kind: "proxy" },
      line: `close ${port}`,
      proxy: { action: "close", protocol: "tcp", port },
    });
    const all: Step[] = [
      { runner: { kind: "sysctl" }, line: "a=1" },
      { runner: { kind: "sysctl" }, line: "b=1" },
      proxyStep(1),
      proxyStep(2),
    ];
    expect(batches(all)).toEqual([
      { runner: { kind: "sysctl" }, lines: ["a=1", "b=1"], proxy: [] },
      {
        runner: { kind: "proxy" },
        lines: ["close 1", "close 2"],
        proxy: [
          { action: "close", protocol: "tcp", port: 1 },
          { action: "close", protocol: "tcp", port: 2 },
        ],
      },
    ]);
  });

  it("renders a full NAT network and endpoint as few processes, with one nft transaction", () => {
    const result = batches(steps(plan([...globals, ...network, ...endpoint], []).ops));
    expect(result.map((b) => b.runner)).toEqual([
      NFT,
      { kind: "sysctl" },
      HOST,
      { kind: "sysctl" },
      HOST,
      IN_NS,
    ]);
    expect(result.filter((b) => b.runner.kind === "nft")).toHaveLength(1);
    const nftBatch = result[0];
    expect(nftBatch?.lines).toHaveLength(3 + 3);
    expect(result[2]?.lines).toEqual([
      `link add ${BRIDGE} mtu 1500 type bridge`,
      `link set dev ${BRIDGE} alias hostnet:${NET} up`,
      `addr replace 10.0.0.1/24 dev ${BRIDGE}`,
      `addr replace fd00::1/64 dev ${BRIDGE} nodad`,
    ]);
    expect(result[5]?.lines).toEqual([
      `link set dev eth0 address 02:00:00:00:00:02 alias hostnet:${EP} up`,
      "addr replace 10.0.0.2/24 dev eth0",
      "addr replace fd00::2/64 dev eth0 nodad",
      "route replace 0.0.0.0/0 via 10.0.0.1 dev eth0",
      "route replace ::/0 via fd00::1 dev eth0",
    ]);
  });

  it("renders an overlay network's peers as one bridge batch and one ip batch, after its links", () => {
    const peers = ["04", "05", "06"].map((n) => ({
      ...peer,
      mac: `02:00:00:00:00:${n}`,
      addresses: [`10.0.0.${Number(n)}`],
    }));
    const result = batches(steps(plan([bridge, vxlan, ...peers], []).ops));
    expect(result.map((b) => [b.runner, b.lines.length])).toEqual([
      [HOST, 2 + 4],
      [FDB, 2 * 3],
      [HOST, 3],
    ]);
  });

  it("is empty for an empty plan", () => {
    expect(batches(steps([]))).toEqual([]);
  });
});

describe("ipArgv", () => {
  it("runs ip directly in hostnetd's namespace", () => {
    expect(ipArgv(null, ["-batch", "-"])).toEqual(["ip", "-batch", "-"]);
  });

  it.each(["/run/netns/c1", "/proc/1234/ns/net", "/var/run/netns/c1", "/run/netns/a/b", "/tmp/netns-c1"])(
    "enters %s with nsenter, which costs the same however many namespaces are mounted",
    (path) => {
      expect(ipArgv(path, ["-batch", "-"])).toEqual(["nsenter", `--net=${path}`, "ip", "-batch", "-"]);
    },
  );
});
