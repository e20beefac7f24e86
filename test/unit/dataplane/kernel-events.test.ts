import { describe, expect, it } from "vitest";
import {
  describeRemoval,
  parseIpMonitorLine,
  parseNftMonitorLine,
  parseTcMonitorLine,
} from "../../../src/dataplane/kernel-events.js";

// Lines as iproute2 6.1, nftables 1.0.6 and tc print them.
describe("ip -o monitor all-nsid", () => {
  it.each([
    [
      "[nsid current]Deleted 3: hnv-1a2b3c4d@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 82:5c:86:08:4a:33 brd ff:ff:ff:ff:ff:ff",
      { kind: "link", where: null, name: "hnv-1a2b3c4d" },
    ],
    [
      "[nsid 0]Deleted 2: eth0@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 46:93:42:cb:e0:0b brd ff:ff:ff:ff:ff:ff",
      { kind: "link", where: 0, name: "eth0" },
    ],
    [
      "[nsid current]Deleted 2: hnb-9c0d1e2f    inet 10.9.0.1/24 scope global hnb-9c0d1e2f\\       valid_lft forever preferred_lft forever",
      { kind: "address", where: null, dev: "hnb-9c0d1e2f", cidr: "10.9.0.1/24" },
    ],
    [
      "[nsid current]Deleted 2: hnb-9c0d1e2f    inet6 fd00::1/64 scope global nodad \\       valid_lft forever preferred_lft forever",
      { kind: "address", where: null, dev: "hnb-9c0d1e2f", cidr: "fd00::1/64" },
    ],
    // In another namespace an IPv4 address's label still names its interface; ip names the rest by its own.
    [
      "[nsid 3]Deleted 2: hnb-9c0d1e2f    inet 10.9.0.2/24 brd 10.9.0.255 scope global eth1\\       valid_lft forever preferred_lft forever",
      { kind: "address", where: 3, dev: "eth1", cidr: "10.9.0.2/24" },
    ],
    [
      "[nsid 0]Deleted default via 10.9.0.1 dev eth0 ",
      { kind: "route", where: 0, family: 4, dst: "default", via: "10.9.0.1", dev: "eth0" },
    ],
    [
      "[nsid 0]Deleted default via fd00::1 dev eth0 metric 1024 pref medium",
      { kind: "route", where: 0, family: 6, dst: "default", via: "fd00::1", dev: "eth0" },
    ],
    [
      "[nsid current]Deleted 10.77.0.0/24 via 10.9.0.5 dev hnb-9c0d1e2f metric 20 onlink ",
      { kind: "route", where: null, family: 4, dst: "10.77.0.0/24", via: "10.9.0.5", dev: "hnb-9c0d1e2f" },
    ],
    [
      "[nsid current]Deleted 10.66.0.5 proto 211 \\	nexthop via 10.8.0.1 dev hnb-9c0d1e2f weight 1 \\	nexthop via 10.8.0.2 dev hnb-9c0d1e2f weight 1 ",
      { kind: "route", where: null, family: 4, dst: "10.66.0.5", proto: "211" },
    ],
    // An endpoint's replies' route, in its own table.
    [
      "[nsid 0]Deleted default via fd00::1 dev v0 table 1001 metric 5 pref medium",
      { kind: "route", where: 0, family: 6, dst: "default", via: "fd00::1", table: 1001, metric: 5 },
    ],
    [
      "[nsid 0]Deleted 1001:\tfrom 10.9.0.2 lookup 1001 proto 211",
      { kind: "rule", where: 0, family: 4, priority: 1001, from: "10.9.0.2", table: 1001 },
    ],
    [
      "[nsid 2]Deleted 1000:\tfrom fd00::2 lookup main suppress_prefixlength 0 proto 211",
      { kind: "rule", where: 2, family: 6, priority: 1000, from: "fd00::2", table: 254 },
    ],
    [
      "[nsid current]Deleted 10.244.2.5 dev hnb-9c0d1e2f lladdr 0a:58:0a:f4:02:05 PERMANENT",
      { kind: "neighbour", dev: "hnb-9c0d1e2f", address: "10.244.2.5" },
    ],
  ])("reads %s", (line, removal) => {
    expect(parseIpMonitorLine(line)).toMatchObject(removal);
  });

  it.each([
    // What is made or changed is no removal.
    "[nsid current]3: hnv-1a2b3c4d@if2: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue master hnb-1 state DOWN",
    "[nsid 0]default via 10.9.0.1 dev eth0 ",
    // A port leaving its deleted bridge (the bridge family's message: no qdisc): the veth stays.
    "[nsid current]Deleted 4: hnv-1a2b3c4d@if2: <BROADCAST,MULTICAST> mtu 1500 master hnb-1 state DOWN \\    link/ether de:79:e5:6e:6b:d3",
    // The kernel's own routes and addresses, and neighbours nobody configured.
    "[nsid current]Deleted 10.9.0.0/24 dev hnb-1 proto kernel scope link src 10.9.0.1 table main",
    "[nsid current]Deleted local 10.9.0.1 dev hnb-1 table local proto kernel scope host src 10.9.0.1 ",
    "[nsid current]Deleted broadcast 10.9.0.255 dev hnb-1 table local proto kernel scope link src 10.9.0.1 ",
    "[nsid current]Deleted multicast ff00::/8 dev hnv-1 table local proto kernel metric 256 pref medium",
    "[nsid current]Deleted 3: hnv-1    inet6 fe80::805c:86ff:fe08:4a33/64 scope link tentative \\       valid_lft forever",
    "[nsid 0]Deleted ff02::16 dev hnb-1 lladdr 33:33:00:00:00:16 NOARP ",
    // Rules hostnet did not make (no protocol of its own), and routes of the kernel's named tables.
    "[nsid 0]Deleted 100:\tfrom 10.9.0.2 lookup 7",
    "[nsid 0]Deleted 100:\tfrom 10.9.0.2 lookup 7 proto static",
    "[nsid 0]Deleted 10.9.0.0/24 dev v0 table default",
    "something else entirely",
  ])("drops %s", (line) => {
    expect(parseIpMonitorLine(line)).toBeUndefined();
  });
});

describe("nft -j monitor", () => {
  it("reads a deleted table, chain or rule of hostnet's tables", () => {
    expect(
      parseNftMonitorLine('{"delete": {"table": {"family": "inet", "name": "hostnet", "handle": 1}}}'),
    ).toEqual({ kind: "nft", family: "inet", object: "table" });
    expect(
      parseNftMonitorLine(
        '{"delete": {"rule": {"family": "bridge", "table": "hostnet", "chain": "antispoof", "handle": 4, "expr": []}}}',
      ),
    ).toEqual({ kind: "nft", family: "bridge", object: "rule" });
  });

  it("reads deleted elements of hostnet's sets as they were", () => {
    const line = JSON.stringify({
      delete: {
        element: {
          family: "inet",
          table: "hostnet",
          name: "natBridges",
          elem: { set: [{ elem: { val: "hnb-9c0d1e2f", comment: "net:9c0d1e2f-0000" } }] },
        },
      },
    });
    expect(parseNftMonitorLine(line)).toEqual({
      kind: "nftElements",
      family: "inet",
      set: "natBridges",
      elements: [
        {
          kind: "nftElement",
          owner: "orphan",
          set: "natBridges",
          key: [{ t: "ifname", v: "hnb-9c0d1e2f" }],
          value: null,
        },
      ],
    });
  });

  it("reads a rule, chain or set of an owner's as that chain or set alone, not the table", () => {
    const name = "lb_dddd4444-0000-4000-8000-000000000004_4";
    expect(
      parseNftMonitorLine(
        `{"delete": {"rule": {"family": "inet", "table": "hostnet", "chain": "${name}", "handle": 7}}}`,
      ),
    ).toEqual({ kind: "nft", family: "inet", object: "rule", id: `nftchain:inet:${name}` });
    expect(
      parseNftMonitorLine(
        `{"delete": {"set": {"family": "inet", "table": "hostnet", "name": "${name}_60s"}}}`,
      ),
    ).toEqual({ kind: "nft", family: "inet", object: "set", id: `nftset:inet:${name}_60s` });
    expect(
      parseNftMonitorLine(
        '{"delete": {"chain": {"family": "inet", "table": "hostnet", "name": "lb_dnat4"}}}',
      ),
    ).toEqual({ kind: "nft", family: "inet", object: "chain" });
  });

  it.each([
    '{"add": {"table": {"family": "inet", "name": "hostnet", "handle": 1}}}',
    '{"delete": {"table": {"family": "inet", "name": "foreign", "handle": 2}}}',
    // A client's affinity timing out: the kernel fills a load balancer's affinity sets, hostnet never wants them.
    '{"delete": {"element": {"family": "inet", "table": "hostnet", "name": "lb_dddd4444-0000-4000-8000-000000000004_0a000005_10800s", "elem": {"set": [{"concat": ["10.0.0.9", "10.96.0.1", "tcp", 80]}]}}}}',
    "# new generation 12 by process 42 (nft)",
  ])("drops %s", (line) => {
    expect(parseNftMonitorLine(line)).toBeUndefined();
  });
});

describe("tc monitor", () => {
  it("reads deleted qdiscs", () => {
    expect(
      parseTcMonitorLine("deleted qdisc tbf 8024: dev hnv-1a2b3c4d root rate 1Mbit burst 32Kb lat 50ms "),
    ).toEqual({ kind: "qdisc", qdisc: "tbf", dev: "hnv-1a2b3c4d" });
    expect(
      parseTcMonitorLine("deleted qdisc clsact ffff: dev hnv-1a2b3c4d parent ffff:fff1 refcnt 0 "),
    ).toEqual({ kind: "qdisc", qdisc: "clsact", dev: "hnv-1a2b3c4d" });
    expect(parseTcMonitorLine("qdisc tbf 8024: dev hnv-1a2b3c4d root refcnt 3 rate 1Mbit")).toBeUndefined();
  });
});

describe("describeRemoval", () => {
  it("says what went, and where", () => {
    expect(describeRemoval({ kind: "link", where: null, name: "hnv-1a2b3c4d" })).toBe(
      "link hnv-1a2b3c4d deleted",
    );
    expect(
      describeRemoval(
        { kind: "route", where: 2, family: 4, dst: "default", via: "10.9.0.1" },
        "/run/netns/c1",
      ),
    ).toBe("route default via 10.9.0.1 removed in /run/netns/c1");
    expect(
      describeRemoval(
        { kind: "route", where: 2, family: 4, dst: "default", via: "10.9.0.1", table: 1001 },
        "/run/netns/c1",
      ),
    ).toBe("route default via 10.9.0.1 of table 1001 removed in /run/netns/c1");
    expect(
      describeRemoval(
        { kind: "rule", where: 2, family: 4, priority: 1001, from: "10.9.0.2", table: 1001 },
        "/run/netns/c1",
      ),
    ).toBe("rule 1001 from 10.9.0.2 lookup 1001 removed in /run/netns/c1");
    expect(describeRemoval({ kind: "nft", family: "inet", object: "table" })).toBe(
      "nft table inet hostnet deleted",
    );
  });
});
