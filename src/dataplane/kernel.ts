/**
 * The Linux kernel as the reconciler sees it: observe through ip/nft JSON (plus hostnetd's own loopback
 * proxy listeners) and the other firewalls through their own tools, apply through batches.
 */
import type { Namespace } from "../model/types.js";
import { apply, type ApplyProgress, type InProcess } from "./apply.js";
import { nftCounters } from "./counters.js";
import { observeFirewalls } from "./firewall/observe.js";
import type { Runner } from "./linux/exec.js";
import type { Owner } from "./naming.js";
import { identity, type KernelObject } from "./objects.js";
import { observe, observePeerNamespaceIds } from "./observe.js";
import { observeNft } from "./observe-nft.js";
import type { Op } from "./plan.js";
import type { Kernel } from "./reconciler.js";

export function linuxKernel(inProcess: InProcess, runner: Runner): Kernel {
  return {
    async observe(namespaces: readonly Namespace[], instance: string) {
      const proxies = inProcess.proxy
        .list()
        .map((p): KernelObject => ({ kind: "loopbackProxy", ...p, owner: p.owner as Owner }));
      const listeners = inProcess.resolver
        .list()
        .map((l): KernelObject => ({ kind: "dnsListener", address: l.address, owner: l.owner as Owner }));
      return [...(await observe(runner, namespaces, instance)), ...proxies, ...listeners];
    },
    observeNft: () => observeNft(runner),
    observeFirewalls: () => observeFirewalls(runner),
    peerNamespaceIds: () => observePeerNamespaceIds(runner),
    apply: (ops: readonly Op[], progress?: ApplyProgress) => apply(runner, inProcess, ops, progress),
    unmade: () =>
      new Map(
        inProcess.resolver
          .unbound()
          .map(({ spec, why }) => [
            identity({ kind: "dnsListener", address: spec.address, owner: spec.owner as Owner }),
            why,
          ]),
      ),
    nftCounters: (rules: boolean) => nftCounters(runner, rules),
  };
}
