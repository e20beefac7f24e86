/**
 * nft trace events read in hostnet's terms, from events the kernel printed for real probes
 * (test/fixtures/trace, captured by test/integration/trace.test.ts's cases).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  conntrackFilter,
  elementQuery,
  firstPacket,
  parseTraceLine,
  replyDestination,
  tracePath,
  type ElementQuery,
  type FoundElement,
  type TraceEvent,
} from "../../../src/dataplane/trace-events.js";

const fixture = (name: string): TraceEvent[] =>
  readFileSync(join(import.meta.dirname, "../../fixtures/trace", `${name}.txt`), "utf8")
    .split("\n")
    .flatMap((line) => parseTraceLine(line) ?? []);

/** Elements by set name, as the kernel would answer a lookup (a comment alone, or with a value); the keys asked are kept. */
function comments(bySet: Record<string, string | FoundElement>): {
  asked: ElementQuery[];
  comment: (q: ElementQuery) => FoundElement | undefined;
} {
  const asked: ElementQuery[] = [];
  return {
    asked,
    comment: (q) => {
      asked.push(q);
      const found = bySet[q.set];
      return typeof found === "string" ? { comment: found } : found;
    },
  };
}

const EP = "ep:11111111-2222-3333-4444-555555555555";
const LB = "lb:66666666-7777-8888-9999-000000000000";

describe("trace lines", () => {
  it("reads a packet's fields, a rule's text and verdict, and a policy", () => {
    const packet = parseTraceLine(
      'trace id ee52ea7c inet hostnet forward packet: iif "hnb-1" oif "up0" ether saddr 02:c2:e9:36:b0:e5 ip saddr 10.41.0.3 ip daddr 192.0.2.1 ip protocol tcp tcp sport 43399 tcp dport 8080 tcp flags == syn ',
    );
    expect(packet).toMatchObject({
      id: "ee52ea7c",
      family: "inet",
      table: "hostnet",
      chain: "forward",
      type: "packet",
    });
    expect(Object.fromEntries(packet?.packet ?? [])).toMatchObject({
      iif: "hnb-1",
      oif: "up0",
      "ip saddr": "10.41.0.3",
      "ip daddr": "192.0.2.1",
      "ip protocol": "tcp",
      "tcp dport": "8080",
    });
    expect(
      parseTraceLine(
        'trace id 1 inet hostnet forward rule oifname @natBridges jump nat_inbound comment "x" (verdict jump nat_inbound)',
      ),
    ).toMatchObject({
      type: "rule",
      rule: "oifname @natBridges jump nat_inbound",
      verdict: "jump nat_inbound",
    });
    expect(parseTraceLine("trace id 1 inet hostnet forward policy accept ")).toMatchObject({
      type: "policy",
      verdict: "accept",
    });
  });

  it("leaves out other tables' events and lines that are not trace events", () => {
    expect(parseTraceLine("trace id 1 inet filter forward policy accept")).toBeUndefined();
    expect(
      parseTraceLine('add element bridge hostnet trace4 { "hnv-1" . tcp . 10.0.0.1 . 80 }'),
    ).toBeUndefined();
  });

  it("keeps the first packet of the flow, not the next one (a retransmitted SYN) nor another veth's", () => {
    const events = fixture("acl-block");
    const again = events.map((e) => ({ ...e, id: `${e.id}-2` }));
    const other = events.map((e) =>
      e.packet === undefined ? e : { ...e, packet: new Map([...e.packet, ["iif", "hnv-other"]]) },
    );
    expect(firstPacket([...other, ...events, ...again], "hnv-05496518", "192.0.2.2")).toEqual(events);
  });

  it("makes the key a rule looked up from the packet the hook saw", () => {
    const events = fixture("acl-block");
    const packet = events.findLast((e) => e.type === "packet")?.packet;
    const acl = events.at(-1);
    expect(acl === undefined ? undefined : elementQuery(acl, packet)).toEqual({
      family: "inet",
      set: "aclOut4_0",
      key: "10.41.0.4 . tcp . 192.0.2.2 . 36421 . 5432",
    });
  });
});

describe("the connection a traced packet began", () => {
  const first = (name: string): Map<string, string> =>
    new Map(fixture(name).find((e) => e.type === "packet")?.packet ?? []);

  it("is asked of conntrack by the packet's original tuple", () => {
    expect(conntrackFilter(first("node-port"))).toEqual([
      ...["-f", "ipv4", "-p", "tcp", "-s", "10.41.0.3", "-d", "192.0.2.1"],
      ...["--sport", "39573", "--dport", "30080"],
    ]);
    expect(conntrackFilter(first("outbound-nat"))).toEqual([
      ...["-f", "ipv4", "-p", "icmp", "-s", "10.41.0.4", "-d", "192.0.2.2", "--icmp-id", "23251"],
    ]);
    expect(
      conntrackFilter(
        new Map([
          ["ip6 saddr", "fd42::2"],
          ["ip6 daddr", "2001:db8:1::2"],
          ["ip6 nexthdr", "ipv6-icmp"],
          ["icmpv6 id", "7"],
        ]),
      ),
    ).toEqual(["-f", "ipv6", "-p", "icmpv6", "-s", "fd42::2", "-d", "2001:db8:1::2", "--icmpv6-id", "7"]);
    expect(conntrackFilter(new Map([["ether saddr", "02:00:00:00:00:01"]]))).toBeUndefined();
  });

  it("tells the address its source was translated to by where its replies go", () => {
    expect(
      replyDestination(
        "icmp     1 29 src=10.41.0.3 dst=192.0.2.2 type=8 code=0 id=23251 src=192.0.2.2 dst=192.0.2.1 type=0 code=0 id=23251 mark=0 use=1",
      ),
    ).toBe("192.0.2.1");
    expect(replyDestination("")).toBeUndefined();
  });
});

describe("a trace's path in hostnet's terms", () => {
  it("names the port mapping, the translation and where the packet left", () => {
    const { asked, comment } = comments({ portmap4: EP });
    expect(tracePath(fixture("port-mapping"), comment)).toEqual({
      dropped: false,
      hops: [
        { kind: "portMapping", owner: EP },
        { kind: "translated", to: "10.41.0.2:80" },
        { kind: "masquerade", oif: "hnb-d7c92693" },
        { kind: "bridged", oif: "hnv-95f82765" },
      ],
    });
    expect(asked).toContainEqual({ family: "inet", set: "portmap4", key: "tcp . 8080" });
  });

  it("names the ACL rule that blocked a packet and the one that allowed another, by their elements' labels", () => {
    expect(tracePath(fixture("acl-block"), comments({ aclOut4_0: `${EP} acl 0` }).comment)).toEqual({
      dropped: true,
      hops: [{ kind: "acl", direction: "Out", verdict: "Block", owner: EP, label: "acl 0" }],
    });
    expect(tracePath(fixture("acl-allow"), comments({ aclOut4_1: `${EP} acl 1` }).comment)).toEqual({
      dropped: false,
      hops: [
        { kind: "acl", direction: "Out", verdict: "Allow", owner: EP, label: "acl 1" },
        { kind: "masquerade", oif: "up0" },
        { kind: "left", oif: "up0" },
      ],
    });
  });

  it("tells an ACL rule whose element is gone by its direction and verdict alone", () => {
    expect(tracePath(fixture("acl-block"), () => undefined).hops).toEqual([
      { kind: "acl", direction: "Out", verdict: "Block" },
    ]);
  });

  it("says network isolation, a closed network and anti-spoofing dropped what they dropped", () => {
    const none = (): undefined => undefined;
    expect(tracePath(fixture("isolation"), none)).toEqual({
      dropped: true,
      hops: [{ kind: "isolation", into: "hnb-d7c92693" }],
    });
    expect(tracePath(fixture("closed"), none)).toEqual({
      dropped: true,
      hops: [{ kind: "closed", iif: "hnb-d7c92693", oif: "hnb-dccf2ff7" }],
    });
    expect(tracePath(fixture("antispoof"), none)).toEqual({
      dropped: true,
      hops: [{ kind: "antispoof", check: "IPv4 source address" }],
    });
  });

  it("says an ACL's default Block dropped what no rule matched, naming the endpoint's address", () => {
    const events = fixture("acl-block");
    const last = events.at(-1);
    if (last === undefined) throw new Error("empty fixture");
    const fellThrough = [...events.slice(0, -1), { ...last, rule: "drop", verdict: "drop" }];
    expect(tracePath(fellThrough, () => undefined).hops).toEqual([
      { kind: "aclDefault", direction: "Out", address: "10.41.0.4" },
    ]);
  });

  it("says a load balancer without a backend refused a connection", () => {
    const { asked, comment } = comments({ lbEmpty4: LB });
    expect(tracePath(fixture("no-backend"), comment)).toEqual({
      dropped: true,
      hops: [{ kind: "noBackend", owner: LB }],
    });
    expect(asked).toContainEqual({ family: "inet", set: "lbEmpty4", key: "10.45.0.20 . tcp . 80" });
  });

  it("names a NodePort load balancer, and the endpoint a frame it translated was bridged to", () => {
    const { asked, comment } = comments({ lbNodeSpread4: LB });
    expect(tracePath(fixture("node-port"), comment)).toEqual({
      dropped: false,
      hops: [
        { kind: "loadBalancer", owner: LB },
        { kind: "translated", to: "10.41.0.2:80" },
        { kind: "masquerade", oif: "hnb-e9d45c6b" },
        { kind: "bridged", oif: "hnv-2c8c6e68" },
      ],
    });
    expect(asked).toContainEqual({ family: "inet", set: "lbNodeSpread4", key: "tcp . 30080" });
  });

  it("says which address OutBoundNAT translated the source to, and whose policy it is", () => {
    const { asked, comment } = comments({ snat4: { comment: EP, value: "192.0.2.10" } });
    expect(tracePath(fixture("outbound-nat"), comment)).toEqual({
      dropped: false,
      hops: [
        { kind: "snat", oif: "up0", to: "192.0.2.10", owner: EP },
        { kind: "left", oif: "up0" },
      ],
    });
    expect(asked).toContainEqual({ family: "inet", set: "snat4", key: "10.41.0.4" });
  });

  it("tells a packet for the host, one bridged to another endpoint's port, and the loopback guard", () => {
    const none = (): undefined => undefined;
    expect(tracePath(fixture("delivered"), none)).toEqual({
      dropped: false,
      hops: [{ kind: "delivered", to: "host" }],
    });
    expect(tracePath(fixture("bridged"), none)).toEqual({
      dropped: false,
      hops: [{ kind: "bridged", oif: "hnv-2c8c6e68" }],
    });
    expect(tracePath(fixture("loopback-guard"), none)).toEqual({
      dropped: true,
      hops: [{ kind: "loopbackGuard" }],
    });
  });
});
