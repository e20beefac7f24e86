import { describe, expect, it } from "vitest";
import { parseNftCounters } from "../../src/dataplane/counters.js";
import { parseNetDev } from "../../src/dataplane/linux/link-stats.js";
import { toolOf } from "../../src/dataplane/linux/exec.js";
import { HostnetMetrics, type EndpointTraffic } from "../../src/metrics/metrics.js";
import { table, veth } from "./dataplane/samples.js";

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:   96411     903    0    0    0     0          0         0    96411     903    0    0    0     0       0          0
hn1a2b3c4d5: 1862 21 0 2 0 0 0 0 2904 31 0 5 0 0 0 0
`;

describe("link statistics", () => {
  it("reads each interface's counters from /proc/net/dev", () => {
    expect(parseNetDev(NET_DEV).get("hn1a2b3c4d5")).toEqual({
      rxBytes: 1862,
      rxPackets: 21,
      rxDropped: 2,
      txBytes: 2904,
      txPackets: 31,
      txDropped: 5,
    });
    expect(parseNetDev(NET_DEV).size).toBe(2);
  });

  it("names a command by its tool, past nsenter", () => {
    expect(toolOf(["nft", "-f", "-"])).toBe("nft");
    expect(toolOf(["nsenter", "--net=/run/netns/c1", "ip", "-batch", "-"])).toBe("ip");
  });
});

/** What `nft -j list table inet hostnet` says (cut short): a counted map element, an affinity rule, others. */
const NFT_LISTING = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", json_schema_version: 1 } },
    {
      map: {
        family: "inet",
        name: "lbBackends4",
        table: "hostnet",
        elem: [
          [
            {
              elem: {
                val: { concat: ["198.51.100.10", "tcp", 80, 0] },
                comment: "lb:00000000-0000-4000-8000-000000000001 backend b1",
                counter: { packets: 4, bytes: 240 },
              },
            },
            { concat: ["10.0.0.2", 8080] },
          ],
          [
            {
              elem: {
                val: { concat: ["198.51.100.11", "tcp", 80, 0] },
                comment: "lb:00000000-0000-4000-8000-000000000001 backend b1",
                counter: { packets: 3, bytes: 180 },
              },
            },
            { concat: ["10.0.0.2", 8080] },
          ],
          [{ elem: { val: { concat: ["198.51.100.12", "tcp", 80, 0] } } }, { concat: ["10.0.0.3", 8080] }],
        ],
      },
    },
    {
      map: {
        family: "inet",
        name: "other",
        table: "firewalld",
        elem: [[{ elem: { val: "10.0.0.9", comment: "x", counter: { packets: 9, bytes: 9 } } }, "accept"]],
      },
    },
    {
      set: {
        family: "inet",
        name: "masq4",
        table: "hostnet",
        elem: [{ prefix: { addr: "10.0.0.0", len: 24 } }],
      },
    },
    {
      rule: {
        family: "inet",
        table: "hostnet",
        chain: "lb_00000000-0000-4000-8000-000000000001_0a000002",
        expr: [
          { match: { op: "==", left: { meta: { key: "l4proto" } }, right: { set: ["tcp", "udp"] } } },
          { counter: { packets: 5, bytes: 300 } },
          { dnat: { family: "ip", addr: { map: { key: {}, data: {} } } } },
        ],
        comment: "0123456789abcdef",
      },
    },
    {
      rule: { family: "inet", table: "hostnet", chain: "nat_prerouting", expr: [{ goto: { target: "x" } }] },
    },
  ],
});

describe("nft counters", () => {
  it("sums hostnet's elements by comment and its rules by chain, and nothing of other tables", () => {
    const { elements, chains } = parseNftCounters(NFT_LISTING);
    expect([...elements]).toEqual([
      ["lb:00000000-0000-4000-8000-000000000001 backend b1", { packets: 7, bytes: 420 }],
    ]);
    expect([...chains]).toEqual([
      ["lb_00000000-0000-4000-8000-000000000001_0a000002", { packets: 5, bytes: 300 }],
    ]);
  });
});

describe("metrics", () => {
  const traffic: EndpointTraffic = {
    endpoint: "c1",
    network: "nat",
    receivedBytes: 2904,
    receivedPackets: 31,
    sentBytes: 1862,
    sentPackets: 21,
    dropped: [{ direction: "in", reason: "acl", packets: 3 }],
  };

  it("reads the kernel's counters once per scrape, and afresh at the next", async () => {
    const metrics = new HostnetMetrics();
    let reads = 0;
    metrics.readFrom({
      objects: () => [{ kind: "endpoint", state: "attached", count: 1 }],
      kernelCounters: () => {
        reads++;
        return Promise.resolve({
          traffic: [{ ...traffic, receivedPackets: 31 * reads }],
          aclHits: [],
          lbConnections: [{ loadBalancer: "0f1e", name: "web", backend: "web1", connections: 7 * reads }],
        });
      },
    });
    const first = (await metrics.scrape()).text;
    expect(reads).toBe(1);
    expect(first).toContain('hostnet_endpoint_received_packets_total{endpoint="c1",network="nat"} 31');
    expect(first).toContain('hostnet_endpoint_sent_bytes_total{endpoint="c1",network="nat"} 1862');
    expect(first).toContain(
      'hostnet_endpoint_dropped_packets_total{endpoint="c1",network="nat",direction="in",reason="acl"} 3',
    );
    expect(first).toContain('hostnet_objects{kind="endpoint",state="attached"} 1');
    expect(first).toContain(
      'hostnet_lb_backend_connections_total{loadbalancer="0f1e",name="web",backend="web1"} 7',
    );
    const second = (await metrics.scrape()).text;
    expect(reads).toBe(2);
    expect(second).toContain('hostnet_endpoint_received_packets_total{endpoint="c1",network="nat"} 62');
  });

  it("counts converges with their kernel operations, and repairs as drift repaired", async () => {
    const metrics = new HostnetMetrics();
    const converge = { kind: "converge", scope: "all" } as const;
    metrics.converged("converge", 0.02, [{ action: "create", object: veth }], false, converge);
    metrics.converged("repair", 0.01, [{ action: "create", object: table }], false, {
      kind: "repair",
      cause: "periodic check",
      failures: [],
    });
    metrics.converged("converge", 0.5, [], true, converge);
    const { text } = await metrics.scrape();
    expect(text).toContain('hostnet_converges_total{kind="converge",result="ok"} 1');
    expect(text).toContain('hostnet_converges_total{kind="converge",result="failed"} 1');
    expect(text).toContain('hostnet_kernel_operations_total{action="create",object="veth"} 1');
    expect(text).toContain('hostnet_drift_repaired_total{object="nftTable"} 1');
    expect(text).not.toContain('hostnet_drift_repaired_total{object="veth"}');
    expect(text).toContain('hostnet_converge_duration_seconds_count{kind="converge"} 2');
  });
});
