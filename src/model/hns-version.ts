/**
 * The HNS release GET /globals/version answers. hcsshim (hcn/hcnglobals.go) reads that document as HNS's
 * version and believes exactly the features whose release ranges hold it, so hostnet answers the release
 * whose features it has working (hns-features.ts). Every release with the v2 API also claims what 9.2 does,
 * ACL rule ids, host rule priorities, the v1 API and HostRoute among them; hostnet lacks some of those, which
 * a client cannot be spared short of losing the v2 API, so they do not count against a release.
 */
import { featureList, works, type FeatureName } from "./hns-features.js";

export interface HnsVersion {
  readonly Major: number;
  readonly Minor: number;
}

/** A range of releases, both ends included; `MAX` as hcsshim's math.MaxInt32. */
type Range = readonly [min: HnsVersion, max: HnsVersion];

const MAX = 2 ** 31 - 1;
const v = (Major: number, Minor: number): HnsVersion => ({ Major, Minor });
const from = (Major: number, Minor: number): Range => [v(Major, Minor), v(MAX, MAX)];
const through = (Major: number, Minor: number): Range => [v(Major, Minor), v(Major, MAX)];

/** The first release of the v2 API, which hostnet's REST API is. */
const V2 = v(9, 2);

/** hcsshim's table: the releases that have each feature. */
const releases: Readonly<Record<FeatureName, readonly Range[]>> = {
  "ACL.AclAddressLists": [from(7, 2)],
  "ACL.AclHostRulePriority": [from(7, 2)],
  "ACL.AclPortRanges": [from(7, 2)],
  "ACL.AclRuleId": [from(7, 2)],
  // hcsshim sets V1 whatever the version.
  "API.V1": [from(0, 0)],
  "API.V2": [from(9, 2)],
  RemoteSubnet: [from(9, 2)],
  HostRoute: [from(9, 2)],
  DSR: [through(9, 3), from(10, 2)],
  Slash32EndpointPrefixes: [through(9, 3), from(10, 4)],
  AclSupportForProtocol252: [from(11, 0)],
  SessionAffinity: [from(12, 0)],
  IPv6DualStack: [from(11, 10)],
  SetPolicy: [from(13, 0)],
  VxlanPort: [from(10, 3)],
  L4Proxy: [through(9, 5), through(10, 5), through(11, 11), through(12, 1), from(13, 1)],
  L4WfpProxy: [from(13, 2)],
  TierAcl: [from(14, 0)],
  NetworkACL: [from(15, 0)],
  NestedIpSet: [from(15, 0)],
  DisableHostPort: [from(15, 1)],
  ModifyLoadbalancer: [from(15, 4)],
  Accelnet: [from(15, 4)],
};

const compare = (a: HnsVersion, b: HnsVersion): number => a.Major - b.Major || a.Minor - b.Minor;

/** The features hcsshim believes a release has. */
export function claimedBy(version: HnsVersion): Set<FeatureName> {
  return new Set(
    (Object.entries(releases) as [FeatureName, readonly Range[]][])
      .filter(([, ranges]) =>
        ranges.some(([min, max]) => compare(min, version) <= 0 && compare(version, max) <= 0),
      )
      .map(([name]) => name),
  );
}

/**
 * The release hostnet answers: of the v2 releases that claim no working-less feature beyond 9.2's, the one
 * that claims most; the lowest of equals. Claims change only where a range starts or the one after a range
 * ends, so those releases are all there is to try.
 */
export function hnsVersion(): HnsVersion {
  const working = new Set(featureList().flatMap(([name, f]) => (works(f) ? [name] : [])));
  const unavoidable = claimedBy(V2);
  const candidates = Object.values(releases)
    .flat()
    .flatMap(([min, max]) => (max.Minor === MAX && max.Major < MAX ? [min, v(max.Major + 1, 0)] : [min]))
    .filter((c) => compare(c, V2) >= 0);
  let best = V2;
  let bestCount = claimedBy(V2).size;
  for (const c of candidates) {
    const claims = claimedBy(c);
    if (![...claims].every((f) => working.has(f) || unavoidable.has(f))) continue;
    if (claims.size > bestCount || (claims.size === bestCount && compare(c, best) < 0)) {
      best = c;
      bestCount = claims.size;
    }
  }
  return best;
}
