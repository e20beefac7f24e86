/**
 * HNS's SupportedFeatures (hcsshim hcn/hcnsupport.go), each as hostnet has it: working, with the tests that
 * exercise it, or lacking, with what hostnet does instead. GET /globals/features shows the booleans, and
 * GET /globals/version the HNS release they amount to (hns-version.ts). A unit test reads the tests' titles in
 * the tree, so a feature cannot say it works without a test that shows it.
 */

/** A test of the tree: its file from the repository root and its title as written. */
export interface FeatureTest {
  readonly file: string;
  readonly title: string;
}

/** A feature hostnet has, shown by its tests; or one it lacks, and why (docs/api.md says the same). */
export type Feature =
  { readonly tests: readonly [FeatureTest, ...FeatureTest[]] } | { readonly lacking: string };

const test = (file: string, title: string): FeatureTest => ({ file, title });

const LB_TESTS = "test/integration/load-balancer.test.ts";
const AFFINITY_TESTS = "test/integration/load-balancer-affinity.test.ts";

/** In hcsshim's order and with its JSON names (`ACL`, `API`, `AclHostRulePriority`). */
export const hnsFeatures = {
  ACL: {
    AclAddressLists: {
      tests: [
        test(
          "test/unit/policies/acl.test.ts",
          "turns lists into disjoint pieces: merged port ranges, nested prefixes dropped, any protocol",
        ),
      ],
    },
    AclHostRulePriority: { lacking: "no RuleType: every ACL is a switch (endpoint) rule" },
    AclPortRanges: {
      tests: [
        test(
          "test/unit/policies/acl.test.ts",
          "turns lists into disjoint pieces: merged port ranges, nested prefixes dropped, any protocol",
        ),
      ],
    },
    AclRuleId: { lacking: "an ACL's Id is ignored, not kept; rules are named by their place in the list" },
  },
  API: {
    V1: { lacking: "only the v2 (HCN) schema is served, not HNS v1's documents" },
    V2: {
      tests: [
        test("test/unit/api/rest/rest.test.ts", "POST creates (201) and answers in HNS shape"),
        test(
          "test/integration/nat-connectivity.test.ts",
          "lets endpoints of one network reach each other over IPv4 and IPv6",
        ),
      ],
    },
  },
  RemoteSubnet: {
    tests: [
      test(
        "test/integration/overlay-routed.test.ts",
        "routes the other hosts' subnets through the VXLAN: containers reach each other unNATed",
      ),
    ],
  },
  HostRoute: { lacking: "no HostRoute policy: overlay containers reach their host through the gateway" },
  DSR: {
    tests: [
      test(
        LB_TESTS,
        "routes a DSR VIP to the backends unchanged: they answer the client from the VIP themselves (PreserveDIP)",
      ),
    ],
  },
  Slash32EndpointPrefixes: {
    lacking: "an endpoint's PrefixLength must be its subnet's: no /32 endpoint addresses",
  },
  AclSupportForProtocol252: { lacking: "no test shows an ACL on protocol 252 yet" },
  SessionAffinity: {
    tests: [
      test(
        LB_TESTS,
        "pins each client to one backend with source-IP affinity, and forgets a removed backend",
      ),
      test(
        AFFINITY_TESTS,
        "keeps each client of an IPv6 VIP on one backend over many connections, while clients spread",
      ),
      test(
        AFFINITY_TESTS,
        "lets a client move once its load balancer's timeout has passed, while another's default keeps it",
      ),
    ],
  },
  IPv6DualStack: {
    tests: [
      test(
        "test/integration/nat-connectivity.test.ts",
        "lets endpoints of one network reach each other over IPv4 and IPv6",
      ),
      test(
        "test/integration/overlay-dualstack.test.ts",
        "lets containers on the two hosts reach each other over IPv4 and IPv6, with distinct addresses",
      ),
      test(LB_TESTS, "balances UDP on an IPv6 VIP over the backends' IPv6 addresses"),
      test(
        AFFINITY_TESTS,
        "keeps each client of an IPv6 VIP on one backend over many connections, while clients spread",
      ),
    ],
  },
  SetPolicy: { lacking: "no SetPolicy (IP sets)" },
  VxlanPort: {
    tests: [
      test("test/unit/api/rest/overlay.test.ts", "takes its UDP port from a VxlanPort policy, and shows it"),
    ],
  },
  L4Proxy: { lacking: "no L4Proxy policy" },
  L4WfpProxy: { lacking: "no L4WfpProxy policy" },
  TierAcl: { lacking: "no TierAcl policy: ACLs are tiered by hostnet itself, not by request" },
  NetworkACL: { lacking: "no NetworkACL policy (a network's ACL policies apply to its endpoints instead)" },
  NestedIpSet: { lacking: "no IP sets" },
  DisableHostPort: { lacking: "no DisableHostPort flag" },
  ModifyLoadbalancer: {
    tests: [
      test(
        LB_TESTS,
        "changes a load balancer in one PUT as a delta: an unchanged backend keeps its connection, a removed one gets no new ones",
      ),
      test(
        "test/unit/api/rest/rest.test.ts",
        "changes VIPs, ports, flags and backends in one call; the ID stays",
      ),
    ],
  },
  Accelnet: { lacking: "no accelerated networking (a Hyper-V NIC feature)" },
} as const satisfies Readonly<Record<string, Feature | Readonly<Record<string, Feature>>>>;

type Features = typeof hnsFeatures;

/** SupportedFeatures as hcsshim's JSON has it: true where hostnet has the feature working. */
export type SupportedFeatures = {
  -readonly [K in keyof Features]: Features[K] extends Feature
    ? boolean
    : { -readonly [L in keyof Features[K]]: boolean };
};

/** A feature by its path in SupportedFeatures: `DSR`, `ACL.AclRuleId`. */
export type FeatureName = {
  [K in keyof Features]: Features[K] extends Feature ? K : `${K}.${keyof Features[K] & string}`;
}[keyof Features];

export const isFeature = (value: object): value is Feature => "tests" in value || "lacking" in value;

/** Every feature with its path, in hcsshim's order. */
export function featureList(): readonly (readonly [FeatureName, Feature])[] {
  return Object.entries(hnsFeatures).flatMap(([name, value]: [string, object]) =>
    isFeature(value)
      ? [[name as FeatureName, value] as const]
      : Object.entries(value as Record<string, Feature>).map(
          ([inner, feature]) => [`${name}.${inner}` as FeatureName, feature] as const,
        ),
  );
}

export const works = (feature: Feature): boolean => "tests" in feature;

export function supportedFeatures(): SupportedFeatures {
  const doc: Record<string, boolean | Record<string, boolean>> = {};
  for (const [name, feature] of featureList()) {
    const [outer = "", inner] = name.split(".");
    if (inner === undefined) doc[outer] = works(feature);
    else doc[outer] = { ...(doc[outer] as Record<string, boolean> | undefined), [inner]: works(feature) };
  }
  return doc as SupportedFeatures;
}
