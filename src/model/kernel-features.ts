/** The kernel features hostnet can use, which `hostnet info` reports (found by src/dataplane/features.ts). */
export type KernelFeature =
  | "bridge"
  | "veth"
  | "vlan"
  | "vlanFiltering"
  | "vxlan"
  | "macvlan"
  | "ifb"
  | "nftables"
  | "conntrack"
  | "htb";

/**
 * Built into the kernel; a module, loaded now or loaded by the kernel on first use; not configured; or
 * unknown, where the kernel's configuration cannot be read and the module is not loaded.
 */
export const featureStates = ["built-in", "loaded", "module", "missing", "unknown"] as const;

export type FeatureState = (typeof featureStates)[number];

export type KernelFeatures = Readonly<Record<KernelFeature, FeatureState>>;

/** Whether a feature can be used: only one the kernel's configuration says it lacks cannot. */
export const hasFeature = (features: KernelFeatures, feature: KernelFeature): boolean =>
  features[feature] !== "missing";
