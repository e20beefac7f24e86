import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import type { Topology } from "../helpers/topology.js";
import { measureThroughput } from "../helpers/traffic.js";

const LIMIT = 1_000_000; // bytes per second
const qos = (settings: Record<string, number>): { Type: string; Settings: Record<string, number> } => ({
  Type: "QOS",
  Settings: settings,
});

// The shaping is on the host end of the veth, the same for every type; these are the types whose containers
// reach each other without a LAN (the LAN types are shaped by the same objects).
describe.skipIf(needsRoot).each(["NAT", "Internal", "Private"])(
  "QOS policies on %s networks: bandwidth limits in both directions",
  (type) => {
    const lab = useLab();
    let t: Topology;
    let d: TestDaemon;
    let server = "";

    beforeAll(async () => {
      ({ t, d } = lab);
      await lab.network("n1", ["10.25.0.0/24"], { Type: type });
      for (const name of ["q1", "q2"]) {
        const ep = await lab.container(name, "n1");
        if (name === "q1") server = ep.IpConfigurations[0]?.IpAddress ?? "";
      }
    });

    it("limits what the endpoint sends and receives to within 10% of the limit", async () => {
      await d.ok("POST", "/endpoints/q1/policies", {
        RequestType: "Add",
        Policies: [qos({ MaximumOutgoingBandwidthInBytes: LIMIT, MaximumIncomingBandwidthInBytes: LIMIT })],
      });
      const received = await measureThroughput(t.ns("q1"), t.ns("q2"), server);
      const sent = await measureThroughput(t.ns("q1"), t.ns("q2"), server, { reverse: true });
      expect(received / LIMIT).toBeGreaterThan(0.9);
      expect(received / LIMIT).toBeLessThan(1.1);
      expect(sent / LIMIT).toBeGreaterThan(0.9);
      expect(sent / LIMIT).toBeLessThan(1.1);
    });

    it("is unlimited again once the policy is removed, leaving no shaper behind", async () => {
      await d.ok("POST", "/endpoints/q1/policies", { RequestType: "Update", Policies: [] });
      expect(await measureThroughput(t.ns("q1"), t.ns("q2"), server, { seconds: 1 })).toBeGreaterThan(
        10 * LIMIT,
      );
      expect(
        await measureThroughput(t.ns("q1"), t.ns("q2"), server, { seconds: 1, reverse: true }),
      ).toBeGreaterThan(10 * LIMIT);
      expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
    });

    it("refuses a second QOS policy and a limit below 1000 bytes/s, naming the field", async () => {
      const low = await d.api("POST", "/endpoints/q1/policies", {
        RequestType: "Add",
        Policies: [qos({ MaximumOutgoingBandwidthInBytes: 10 })],
      });
      expect(low).toMatchObject({
        status: 400,
        body: { error: { field: "Policies[0].Settings.MaximumOutgoingBandwidthInBytes" } },
      });
      const two = await d.api("POST", "/endpoints/q1/policies", {
        RequestType: "Add",
        Policies: [
          qos({ MaximumOutgoingBandwidthInBytes: LIMIT }),
          qos({ MaximumIncomingBandwidthInBytes: LIMIT }),
        ],
      });
      expect(two).toMatchObject({ status: 400, body: { error: { field: "Policies[1].Settings" } } });
    });
  },
);
