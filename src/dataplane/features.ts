/**
 * The kernel features hostnet's modes and policies use, as the kernel's own configuration lists them
 * (/proc/config.gz, else /boot/config-RELEASE), so that `hostnet info` says what this host can do before a
 * request finds out: VLANs (802.1Q), VXLAN, ifb, ...
 */
import { existsSync, readFileSync } from "node:fs";
import { release as kernelRelease } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { FeatureState, KernelFeature, KernelFeatures } from "../model/kernel-features.js";

/**
 * Each feature by its kernel configuration symbol and the module that has it when it is one, or (`of`) by
 * an option of another feature's code (y or not set), which is there as that feature is.
 */
type Source =
  | { readonly config: string; readonly module: string }
  | { readonly config: string; readonly of: KernelFeature };
const kernelFeatureSources: Record<KernelFeature, Source> = {
  bridge: { config: "BRIDGE", module: "bridge" },
  veth: { config: "VETH", module: "veth" },
  vlan: { config: "VLAN_8021Q", module: "8021q" },
  vlanFiltering: { config: "BRIDGE_VLAN_FILTERING", of: "bridge" },
  vxlan: { config: "VXLAN", module: "vxlan" },
  macvlan: { config: "MACVLAN", module: "macvlan" },
  ifb: { config: "IFB", module: "ifb" },
  nftables: { config: "NF_TABLES", module: "nf_tables" },
  conntrack: { config: "NF_CONNTRACK", module: "nf_conntrack" },
  htb: { config: "NET_SCH_HTB", module: "sch_htb" },
};

function kernelConfig(root: string, release: string): string | undefined {
  try {
    return gunzipSync(readFileSync(join(root, "proc", "config.gz"))).toString("utf8");
  } catch {
    try {
      return readFileSync(join(root, "boot", `config-${release}`), "utf8");
    } catch {
      return undefined;
    }
  }
}

/** `root` and `release` are for tests: a tree laid out as / is. */
export function kernelFeatures(root = "/", release = kernelRelease()): KernelFeatures {
  const config = kernelConfig(root, release);
  const configured = (symbol: string): string | undefined =>
    config === undefined ? undefined : new RegExp(`^CONFIG_${symbol}=([ym])$`, "m").exec(config)?.[1];
  const state = (source: Source): FeatureState => {
    const value = configured(source.config);
    if ("of" in source)
      return config !== undefined && value !== "y" ? "missing" : state(kernelFeatureSources[source.of]);
    if (value === "y") return "built-in";
    if (existsSync(join(root, "sys", "module", source.module))) return "loaded";
    if (value === "m") return "module";
    return config === undefined ? "unknown" : "missing";
  };
  return Object.fromEntries(
    Object.entries(kernelFeatureSources).map(([feature, source]) => [feature, state(source)]),
  ) as KernelFeatures;
}
