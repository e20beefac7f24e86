/**
 * Plan operations, and the kernel objects tests build them from, made one way everywhere: a builder fills
 * in what every object of its kind carries, so a test spells out only the fields it is about.
 */
import type { Owner } from "../../src/dataplane/naming.js";
import type { ElementPart, NftSetName } from "../../src/dataplane/nft-sets.js";
import type { KernelObject, Kind, NetnsRef } from "../../src/dataplane/objects.js";
import type { Op } from "../../src/dataplane/plan.js";

type Of<K extends Kind> = Extract<KernelObject, { kind: K }>;

export const create = (object: KernelObject): Op => ({ action: "create", object });
export const del = (object: KernelObject): Op => ({ action: "delete", object });
export const replace = (from: KernelObject, object: KernelObject): Op => ({
  action: "replace",
  from,
  object,
});

export const ifname = (v: string): ElementPart => ({ t: "ifname", v });
export const addr = (v: string): ElementPart => ({ t: "addr", v });
export const prefix = (v: string): ElementPart => ({ t: "prefix", v });
export const proto = (v: string): ElementPart => ({ t: "proto", v });
export const port = (v: number): ElementPart => ({ t: "port", v });
export const ether = (v: string): ElementPart => ({ t: "ether", v });

/** An element of an nft set (no value) or map. */
export const element = (
  owner: Owner,
  set: NftSetName,
  key: readonly ElementPart[],
  value: readonly ElementPart[] | null = null,
): Of<"nftElement"> => ({ kind: "nftElement", owner, set, key, value });

/** hostnet's inet table at `version`, as the kernel shows it (without the skeleton it was built from). */
export const nftTable = (version: string): Of<"nftTable"> => ({
  kind: "nftTable",
  owner: "global",
  family: "inet",
  version,
});

export const bridgeLink = (owner: Owner, name: string, mtu = 1500): Of<"bridge"> => ({
  kind: "bridge",
  owner,
  name,
  mtu,
});

/** A bridge no record owns, as an older hostnet could leave one behind. */
export const orphanBridge = bridgeLink("orphan", "hnb-deadbeef");

/** An address on `dev`, in hostnetd's own namespace when `netns` is null. */
export const address = (owner: Owner, netns: NetnsRef, dev: string, cidr: string): Of<"address"> => ({
  kind: "address",
  owner,
  netns,
  dev,
  cidr,
});

/** A container's default route through `via`, of via's family. */
export const defaultRoute = (owner: Owner, netns: string, via: string, dev: string): Of<"route"> => ({
  kind: "route",
  owner,
  netns,
  family: via.includes(":") ? 6 : 4,
  dst: "default",
  via,
  dev,
});

export const sysctl = (owner: Owner, key: string, value: string): Of<"sysctl"> => ({
  kind: "sysctl",
  owner,
  key,
  value,
});
