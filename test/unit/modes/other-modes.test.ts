import { describe, expect, it } from "vitest";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import { internalMode, privateMode } from "../../../src/modes/closed.js";
import { modes } from "../../../src/modes/index.js";
import { l2bridge, l2tunnel, transparent } from "../../../src/modes/lan.js";
import { runModeContract } from "./contract.js";
import type { NetworkSpec } from "../../../src/core/specs.js";
import type { NetworkType } from "../../../src/model/types.js";
import { dualNet, endpointOf, ns, specOf } from "./samples.js";

runModeContract(privateMode);
runModeContract(internalMode);
const lanSpec = (type: NetworkType): NetworkSpec =>
  specOf(type, { adapter: { name: "lan0", field: "Policies[0].Settings.NetworkAdapterName" } });
runModeContract(transparent, { spec: lanSpec("Transparent") });
runModeContract(l2bridge, { spec: lanSpec("L2Bridge") });
runModeContract(l2tunnel, { spec: lanSpec("L2Tunnel") });

const BRIDGE = "hnb-aaaa1111";

describe("Private and Internal modes", () => {
  it("are registered, without port mappings or default routes", () => {
    expect(modes.Private).toBe(privateMode);
    expect(modes.Internal).toBe(internalMode);
    for (const mode of [privateMode, internalMode]) {
      expect(mode.portMappings).toBe(false);
      expect(mode.defaultRoute).toBe(false);
    }
  });

  it("close the bridge to routing; Internal gives the host the gateway address, Private not even IPv6 link-local", () => {
    const kinds = (objects: ReturnType<typeof privateMode.networkObjects>): string[] =>
      objects.map((o) =>
        o.kind === "nftElement" ? `element ${o.set}` : o.kind === "sysctl" ? `sysctl ${o.key}` : o.kind,
      );
    expect(kinds(privateMode.networkObjects(dualNet))).toEqual([
      "bridge",
      "element closedBridges",
      "element sameBridge",
      `sysctl net/ipv6/conf/${BRIDGE}/disable_ipv6`,
    ]);
    expect(kinds(internalMode.networkObjects(dualNet))).toEqual([
      "bridge",
      "address",
      "address",
      "element closedBridges",
      "element sameBridge",
    ]);
    expect(kinds(internalMode.networkObjects({ ...dualNet, interContainer: false }))).not.toContain(
      "element sameBridge",
    );
  });

  it("give endpoints their addresses but no default route", () => {
    const objects = internalMode.endpointObjects(endpointOf(dualNet), dualNet, ns);
    expect(objects.filter((o) => o.kind === "address")).toHaveLength(2);
    expect(objects.filter((o) => o.kind === "route")).toEqual([]);
  });
});

describe("IPv6 link-local of IPv4-only endpoints", () => {
  const v4Only = { ...dualNet, subnets: dualNet.subnets.filter((sub) => sub.family === 4) };
  const link = (mode: typeof internalMode): KernelObject | undefined =>
    mode.endpointObjects(endpointOf(v4Only), v4Only, ns).find((o) => o.kind === "containerLink");

  it("is off on hostnet's own bridges (Private, Internal), which nobody else advertises prefixes on", () => {
    for (const mode of [privateMode, internalMode]) expect(link(mode)).toMatchObject({ noLinkLocal6: true });
  });

  it("stays on a LAN, whose routers may advertise prefixes", () => {
    for (const mode of [transparent, l2bridge, l2tunnel])
      expect(link(mode)).not.toHaveProperty("noLinkLocal6");
  });
});
