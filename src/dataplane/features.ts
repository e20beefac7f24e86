/**
 * The kernel features hostnet's modes and policies use, as the kernel's own configuration lists them
 * (/proc/config.gz, else /boot/config-RELEASE), so that `hostnet info` says what this host can do before a
 * request finds out: VLANs (802.1Q), VXLAN, ifb, ...
 */
import { existsSync, readFileSync } from "node:fs";
import { release as kernelRelease } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { FeatureState, KernelFeature } from "../model/kernel-features.js";

/** Each feature by its kernel configuration symbol and the module that has it when it is one. */
const kernelFeatureSources = {
  bridge: { config: "BRIDGE", module: "bridge" },
  veth: { config: "VETH", module: "veth" },
  vlan: { config: "VLAN_8021Q", module: "8021q" },
  vxlan: { config: "VXLAN", module: "vxlan" },
  macvlan: { config: "MACVLAN", module: "macvlan" },
  ifb: { config: "IFB", module: "ifb" },
  nftables: { config: "NF_TABLES", module: "nf_tables" },
  conntrack: { config: "NF_CONNTRACK", module: "nf_conntrack" },
  htb: { config: "NET_SCH_HTB", module: "sch_htb" },
} as const satisfies Record<KernelFeature, { config: string; module: string }>;

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
export function kernelFeatures(root = "/", release = kernelRelease()): Record<KernelFeature, FeatureState> {
  const config = kernelConfig(root, release);
  const state = ({ config: symbol, module }: { config: string; module: string }): FeatureState => {
    const loaded = existsSync(join(root, "sys", "module", module));
    const value =
      config === undefined ? undefined : new RegExp(`^CONFIG_${symbol}=([ym])$`, "m").exec(config)?.[1];
    if (value === "y") return "built-in";
    if (loaded) return "loaded";
    if (value === "m") return "module";
    return config === undefined ? "unknown" : "missing";
  };
  return Object.fromEntries(
    Object.entries(kernelFeatureSources).map(([feature, source]) => [feature, state(source)]),
  ) as Record<KernelFeature, FeatureState>;
}
