import { describe, expect, it } from "vitest";
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
        return Promise.resolve({ traffic: [{ ...traffic, receivedPackets: 31 * reads }], aclHits: [] });
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
