/** hostnet's HNS features: each true one shown by tests that exist, and the HNS release they amount to. */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { featureList, supportedFeatures, works } from "../../../src/model/hns-features.js";
import { claimedBy, hnsVersion } from "../../../src/model/hns-version.js";

const root = resolve(import.meta.dirname, "../../..");

/** Whether `file` has a test (`it`, `test`, `it.each`…) titled `title`, in any quotes, as prettier lays it out. */
function hasTest(file: string, title: string): boolean {
  const path = join(root, file);
  if (!existsSync(path)) return false;
  const quoted = ["'", '"', "`"].map((q) => `${q}${title}${q}`);
  const calls = readFileSync(path, "utf8").matchAll(
    /\b(?:it|test)(?:\.\w+)*\(\s*(["'`])((?:\\.|(?!\1)[^\\])*)\1/g,
  );
  return [...calls].some((m) => quoted.includes(`${m[1] ?? ""}${m[2] ?? ""}${m[1] ?? ""}`));
}

describe("HNS features", () => {
  it("name, for every feature that says it works, tests that exist in the tree", () => {
    const missing = featureList().flatMap(([name, feature]) =>
      "tests" in feature
        ? feature.tests.filter((t) => !hasTest(t.file, t.title)).map((t) => `${name}: ${t.file}: ${t.title}`)
        : [],
    );
    expect(missing).toEqual([]);
  });

  it("are every field of hcsshim's SupportedFeatures, with its JSON name, nested ones too", () => {
    expect(featureList().map(([name]) => name)).toEqual([
      "ACL.AclAddressLists",
      "ACL.AclHostRulePriority",
      "ACL.AclPortRanges",
      "ACL.AclRuleId",
      "API.V1",
      "API.V2",
      "RemoteSubnet",
      "HostRoute",
      "DSR",
      "Slash32EndpointPrefixes",
      "AclSupportForProtocol252",
      "SessionAffinity",
      "IPv6DualStack",
      "SetPolicy",
      "VxlanPort",
      "L4Proxy",
      "L4WfpProxy",
      "TierAcl",
      "NetworkACL",
      "NestedIpSet",
      "DisableHostPort",
      "ModifyLoadbalancer",
      "Accelnet",
    ]);
    expect(supportedFeatures()).toMatchObject({ ACL: { AclPortRanges: true }, API: { V2: true }, DSR: true });
  });
});

describe("the HNS release hostnet answers", () => {
  const working = new Set(featureList().flatMap(([name, f]) => (works(f) ? [name] : [])));
  const lacking = (version: { Major: number; Minor: number }): string[] =>
    [...claimedBy(version)].filter((f) => !working.has(f) && !claimedBy({ Major: 9, Minor: 2 }).has(f));

  it("claims, beyond what every v2 release claims, only features hostnet has working", () => {
    expect(hnsVersion()).toEqual({ Major: 10, Minor: 3 });
    expect(lacking(hnsVersion())).toEqual([]);
  });

  it("is the last before a release that claims a feature hostnet lacks", () => {
    expect(lacking({ Major: 10, Minor: 4 })).toEqual(["Slash32EndpointPrefixes"]);
    expect(lacking({ Major: 12, Minor: 0 })).toEqual(["Slash32EndpointPrefixes", "AclSupportForProtocol252"]);
    expect([...claimedBy({ Major: 10, Minor: 3 })]).toContain("VxlanPort");
  });
});
