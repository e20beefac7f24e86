/**
 * VLANs on a kernel without VLAN filtering on bridges (this machine's): a VLAN request, through REST and the
 * CLI, is refused with what the kernel lacks, and changes nothing, neither the store nor the uplink;
 * GET /info says VLANs are unavailable. test/vm/vlan.test.ts tries VLANs where the kernel has them.
 */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelFeatures } from "../../src/dataplane/features.js";
import { useLab } from "../helpers/lab.js";
import { createLan, lanNetwork } from "../helpers/lan.js";
import { needsRoot } from "../helpers/root.js";
import { must, run } from "../helpers/run.js";

const HOSTNET = resolve(import.meta.dirname, "../../dist/bin/hostnet.js");
const VLAN = { Type: "VLAN", Settings: { IsolationId: 10 } };
const LACKS = "this kernel has no VLAN filtering on bridges (CONFIG_BRIDGE_VLAN_FILTERING)";

describe.skipIf(needsRoot || kernelFeatures().vlanFiltering !== "missing")(
  "VLANs on a kernel without VLAN filtering",
  () => {
    const lab = useLab({ prepare: (t) => createLan(t).then(() => undefined) });
    const uplink = async (): Promise<string> =>
      must(["ip", "-n", lab.t.host, "-d", "-j", "link", "show", "dev", "lan0"]);

    it("says so in GET /info", async () => {
      const info = await lab.d.ok<{ Kernel: { Features: Record<string, string> } }>("GET", "/info");
      expect(info.Kernel.Features["vlanFiltering"]).toBe("missing");
    });

    it("refuses a network with a VLAN with 400 naming the policy and what the kernel lacks, changing nothing", async () => {
      const before = await uplink();
      const net = lanNetwork("lan", "Transparent");
      const r = await lab.d.api("POST", "/networks", {
        ...net,
        Policies: [...(net["Policies"] as unknown[]), VLAN],
      });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: { field: "Policies[1].Settings" } });
      expect(JSON.stringify(r.body)).toContain(LACKS);
      expect(await lab.d.ok("GET", "/networks")).toEqual([]);
      expect(await uplink()).toBe(before);
      expect(await lab.plan()).toEqual([]);
    });

    it("refuses an endpoint with a VLAN, through the CLI too, leaving the network as it was", async () => {
      await lab.d.ok("POST", "/networks", lanNetwork("lan", "Transparent"));
      const r = await lab.d.api("POST", "/endpoints", {
        Name: "c1",
        HostComputeNetwork: "lan",
        Policies: [VLAN],
      });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toContain(LACKS);
      const cli = await run([
        process.execPath,
        HOSTNET,
        "--socket",
        lab.d.socket,
        "endpoint",
        "create",
        "c2",
        "--network",
        "lan",
        "--vlan",
        "10",
      ]);
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain(LACKS);
      expect(await lab.d.ok("GET", "/endpoints")).toEqual([]);
      expect(await lab.plan()).toEqual([]);
    });
  },
);
