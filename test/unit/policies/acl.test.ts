import { describe, expect, it } from "vitest";
import { ACL_TIERS } from "../../../src/dataplane/nft-sets.js";
import type { KernelObject } from "../../../src/dataplane/objects.js";
import type { EndpointPolicy } from "../../../src/policies/index.js";
import { acl as aclKind } from "../../../src/policies/acl.js";
import { aclObjects, checkAclTiers } from "../../../src/policies/acl-elements.js";
import { dualNet, endpointOf } from "../modes/samples.js";
import { runPolicyContract } from "./contract.js";

const acl = (settings: Record<string, unknown>): EndpointPolicy =>
  aclKind.parse("Policies[0].Settings", settings);

/** The endpoint's ACL elements as "set: key → verdict (label)", and its aclRules memberships as "set: key". */
function rendered(policies: EndpointPolicy[], networkPolicies: EndpointPolicy[] = []): string[] {
  const ep = { ...endpointOf(dualNet), policies };
  return aclObjects(ep, { ...dualNet, policies: networkPolicies }).map((o: KernelObject) => {
    if (o.kind !== "nftElement") throw new Error(`unexpected ${o.kind}`);
    const key = o.key.map((p) => String(p.v)).join(" . ");
    return o.label === undefined
      ? `${o.set}: ${key}`
      : `${o.set}: ${key} → ${o.value?.[0]?.v ?? ""} (${o.label})`;
  });
}

describe("ACLs as tier map elements", () => {
  it("puts nothing in the kernel without rules", () => {
    expect(rendered([])).toEqual([]);
  });

  it("keys each rule by endpoint address, protocol, remote prefix and both port ranges, per family", () => {
    const rule = acl({ Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 200 });
    expect(rendered([rule])).toEqual([
      "aclInRules4: 10.88.0.2",
      "aclIn4_0: 10.88.0.2 . 6 . 0.0.0.0/0 . 22 . 0-65535 → drop (acl 0)",
      "aclInRules6: fd88::2",
      "aclIn6_0: fd88::2 . 6 . ::/0 . 22 . 0-65535 → drop (acl 0)",
    ]);
  });

  it("turns lists into disjoint pieces: merged port ranges, nested prefixes dropped, any protocol", () => {
    const rule = acl({
      Action: "Allow",
      Direction: "Out",
      RemoteAddresses: "10.1.0.0/16,10.1.2.0/24,192.0.2.7",
      RemotePorts: "80,81-90,85,443",
    });
    expect(rendered([rule])).toEqual([
      "aclOutRules4: 10.88.0.2",
      "aclOut4_0: 10.88.0.2 . 0-255 . 10.1.0.0/16 . 0-65535 . 80-90 → return (acl 0)",
      "aclOut4_0: 10.88.0.2 . 0-255 . 10.1.0.0/16 . 0-65535 . 443 → return (acl 0)",
      "aclOut4_0: 10.88.0.2 . 0-255 . 192.0.2.7/32 . 0-65535 . 80-90 → return (acl 0)",
      "aclOut4_0: 10.88.0.2 . 0-255 . 192.0.2.7/32 . 0-65535 . 443 → return (acl 0)",
      // A direction with rules blocks by default in both families, even if its rules are all IPv4.
      "aclOutRules6: fd88::2",
    ]);
  });

  it("puts a rule one tier past the last earlier rule it overlaps, and disjoint rules in one tier", () => {
    const allowWeb = acl({
      Action: "Allow",
      Direction: "In",
      Protocols: "6",
      LocalPorts: "80",
      Priority: 100,
    });
    const allowDns = acl({
      Action: "Allow",
      Direction: "In",
      Protocols: "17",
      LocalPorts: "53",
      Priority: 110,
    });
    const blockNet = acl({
      Action: "Block",
      Direction: "In",
      RemoteAddresses: "10.0.0.0/8",
      Priority: 120,
    });
    const allowAll = acl({ Action: "Allow", Direction: "In", RemoteAddresses: "10.9.0.0/16", Priority: 130 });
    const sets = rendered([allowAll, blockNet, allowDns, allowWeb])
      .filter((l) => l.startsWith("aclIn4_"))
      .map((l) => `${l.slice(0, l.indexOf(":"))} ${l.slice(l.indexOf("("))}`);
    expect(sets).toEqual(["aclIn4_0 (acl 3)", "aclIn4_0 (acl 2)", "aclIn4_1 (acl 1)", "aclIn4_2 (acl 0)"]);
  });

  it("orders the network's rules after the endpoint's at equal priority", () => {
    const own = acl({ Action: "Allow", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 200 });
    const net = acl({ Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 200 });
    expect(rendered([own], [net]).filter((l) => l.startsWith("aclIn4_"))).toEqual([
      "aclIn4_0: 10.88.0.2 . 6 . 0.0.0.0/0 . 22 . 0-65535 → return (acl 0)",
      "aclIn4_1: 10.88.0.2 . 6 . 0.0.0.0/0 . 22 . 0-65535 → drop (network acl 0)",
    ]);
  });

  it("applies a rule with local addresses only to the endpoint addresses they contain", () => {
    const rule = acl({ Action: "Block", Direction: "In", LocalAddresses: "10.88.0.0/24" });
    expect(rendered([rule])).toEqual([
      "aclInRules4: 10.88.0.2",
      "aclIn4_0: 10.88.0.2 . 0-255 . 0.0.0.0/0 . 0-65535 . 0-65535 → drop (acl 0)",
      "aclInRules6: fd88::2",
    ]);
    const elsewhere = acl({ Action: "Block", Direction: "In", LocalAddresses: "10.99.0.0/24" });
    expect(rendered([elsewhere]).filter((l) => l.includes("→"))).toEqual([]);
  });

  it(`refuses more than ${ACL_TIERS} rules of a direction that each overlap the one before`, () => {
    const overlapping = (n: number): EndpointPolicy[] =>
      Array.from({ length: n }, (_, i) =>
        acl({
          Action: i % 2 === 0 ? "Allow" : "Block",
          Direction: "Out",
          RemotePorts: `1-${1000 + i}`,
          Priority: i + 1,
        }),
      );
    expect(() => checkAclTiers(overlapping(ACL_TIERS), [])).not.toThrow();
    expect(() => checkAclTiers(overlapping(ACL_TIERS - 1), overlapping(1))).not.toThrow();
    expect(() => checkAclTiers(overlapping(ACL_TIERS), overlapping(1))).toThrow(
      expect.objectContaining({ detail: { field: "Policies" } }),
    );
    const disjoint = Array.from({ length: 100 }, (_, i) =>
      acl({ Action: "Allow", Direction: "Out", RemotePorts: String(1000 + i) }),
    );
    expect(() => checkAclTiers(disjoint, [])).not.toThrow();
  });
});

const SETTINGS = "Policies[0].Settings";
const allow = { Action: "Allow", Direction: "In" };

runPolicyContract(aclKind, {
  settings: { Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 200 },
  malformed: [
    { settings: null, field: SETTINGS },
    { settings: { Action: "Maybe", Direction: "In" }, field: `${SETTINGS}.Action` },
    { settings: { Action: "Allow", Direction: "Up" }, field: `${SETTINGS}.Direction` },
    { settings: { ...allow, Priority: 0 }, field: `${SETTINGS}.Priority` },
    { settings: { ...allow, Protocols: "6,gre" }, field: `${SETTINGS}.Protocols` },
    { settings: { ...allow, Protocols: "1", LocalPorts: "22" }, field: `${SETTINGS}.Protocols` },
    { settings: { ...allow, LocalAddresses: "10.0.0.300" }, field: `${SETTINGS}.LocalAddresses` },
    { settings: { ...allow, RemoteAddresses: "10.0.0.0/33" }, field: `${SETTINGS}.RemoteAddresses` },
    { settings: { ...allow, Protocols: "6", LocalPorts: "80-70" }, field: `${SETTINGS}.LocalPorts` },
    { settings: { ...allow, Protocols: "6", RemotePorts: "0" }, field: `${SETTINGS}.RemotePorts` },
  ],
  skip: { "where it may not appear it is refused naming its Type": "endpoints and networks both take ACLs" },
});
