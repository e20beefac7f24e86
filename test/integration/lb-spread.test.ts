/**
 * How a load balancer spreads new connections, with real packets: UDP datagrams from the external
 * namespace, each from a port of its own, so each is a new flow the host's nft DNATs once; the host's
 * conntrack table then says which backend each flow got. The backends are endpoints in no namespace: the
 * datagrams are lost past the bridge, after conntrack has recorded their DNAT. A frontend of N backends draws
 * below the next power of two and draws again on a miss, so every flow must be DNATed, and uniformly.
 */
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";

const PORT = 53;

/**
 * Sends one datagram from each of `count` source ports (20000 on, bound: ephemeral ones repeat) to
 * `address`:PORT, one at a time.
 */
const sender = (address: string, count: number): string => `
const dgram = require("node:dgram");
let i = 0;
const one = () => {
  if (i === ${count}) return;
  const s = dgram.createSocket("udp4");
  s.bind(20000 + i++, () => s.send("x", ${PORT}, ${JSON.stringify(address)}, () => { s.close(); one(); }));
};
one();
`;

/**
 * The chi-square statistic's bound that a uniform spread over `k` backends exceeds with a chance of about
 * one in a million (Wilson-Hilferty), so that the test never flakes; a spread that favours slot 0 as a
 * draw that missed would (half the flows of 33 backends) is far beyond it.
 */
function chiSquareBound(k: number): number {
  const df = k - 1;
  const z = 4.75;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

describe.skipIf(needsRoot)("a load balancer's spread, flow by flow", () => {
  const lab = useLab();

  it.each([
    [3, 1500, "198.51.100.31"],
    [5, 2500, "198.51.100.35"],
    [33, 6600, "198.51.100.63"],
  ])("DNATs every new flow to %i backends, uniformly (%i flows)", async (k, flows, vip) => {
    const { d, t } = lab;
    if ((await d.api("GET", "/networks/n")).status === 404) {
      await lab.network("n", ["10.41.0.0/24"]);
      await must(["ip", "-n", t.ext, "route", "add", "198.51.100.0/24", "via", t.hostIp4]);
    }
    const backends: string[] = [];
    for (let i = 0; i < k; i++) {
      const ep = await d.ok<{ IpConfigurations: { IpAddress: string }[] }>("POST", "/endpoints", {
        Name: `k${k}-${i}`,
        HostComputeNetwork: "n",
      });
      backends.push(ep.IpConfigurations[0]?.IpAddress ?? "");
    }
    await d.ok("POST", "/loadbalancers", {
      HostComputeEndpoints: backends.map((_, i) => `k${k}-${i}`),
      FrontendVIPs: [vip],
      PortMappings: [{ Protocol: 17, InternalPort: 5353, ExternalPort: PORT }],
    });

    await must(inNs(t.ext, [process.execPath, "-e", sender(vip, flows)]), { timeoutMs: 120_000 });
    const table = await must(inNs(t.host, ["conntrack", "-L", "-p", "udp", "--orig-dst", vip]));
    // Each line: the original direction (src dst sport dport), then the reply's, whose source is the backend.
    const got = table.split("\n").flatMap((line) => {
      const reply = [...line.matchAll(/src=(\S+)/g)][1]?.[1];
      return reply === undefined ? [] : [reply];
    });
    expect(got).toHaveLength(flows);
    const counts = backends.map((b) => got.filter((g) => g === b).length);
    expect(
      counts.reduce((a, b) => a + b, 0),
      "every flow DNATed to a backend",
    ).toBe(flows);
    const expected = flows / k;
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    console.log(`${k} backends, ${flows} flows: ${counts.join(" ")}; chi-square ${chiSquare.toFixed(1)}`);
    expect(chiSquare).toBeLessThan(chiSquareBound(k));
  });
});
