/** The Linux kernel as the reconciler sees it: observe through ip/nft JSON, apply through batches. */
import type { Namespace } from "../model/types.js";
import { apply } from "./apply.js";
import { processRunner, type Runner } from "./linux/exec.js";
import { observe } from "./observe.js";
import type { Op } from "./plan.js";
import type { Kernel } from "./reconciler.js";

export function linuxKernel(runner: Runner = processRunner): Kernel {
  return {
    observe: (namespaces: readonly Namespace[]) => observe(runner, namespaces),
    apply: (ops: readonly Op[]) => apply(runner, ops),
  };
}
