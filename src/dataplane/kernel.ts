/**
 * The Linux kernel as the reconciler sees it: observe through ip/nft JSON (plus hostnetd's own loopback
 * proxy listeners) and the other firewalls through their own tools, apply through batches.
 */
import type { Namespace } from "../model/types.js";
import { apply } from "./apply.js";
import { elementCounters } from "./counters.js";
import { observeFirewalls } from "./firewall/observe.js";
import { processRunner, type Runner } from "./linux/exec.js";
import type { LoopbackProxy } from "./loopback-proxy.js";
import type { Owner } from "./naming.js";
import type { NftSetName } from "./nft-sets.js";
import type { KernelObject } from "./objects.js";
import { observe, observePeerNamespaceIds } from "./observe.js";
import type { Op } from "./plan.js";
import type { Kernel } from "./reconciler.js";

export function linuxKernel(proxy: LoopbackProxy, runner: Runner = processRunner): Kernel {
  return {
    async observe(namespaces: readonly Namespace[], instance: string) {
      const proxies = proxy
        .list()
        .map((p): KernelObject => ({ kind: "loopbackProxy", ...p, owner: p.owner as Owner }));
      return [...(await observe(runner, namespaces, instance)), ...proxies];
    },
    observeFirewalls: () => observeFirewalls(runner),
    peerNamespaceIds: () => observePeerNamespaceIds(runner),
    apply: (ops: readonly Op[]) => apply(runner, proxy, ops),
    elementCounters: (sets: readonly NftSetName[]) => elementCounters(runner, sets),
  };
}
