/**
 * Runs a plan: each batch of steps is one process (`ip -batch`, `ip -n NS -batch`, one atomic `nft -f`)
 * sysctl writes or loopback proxy listeners, in plan order. The first failure stops the run and is thrown.
 */
import type { Runner } from "./linux/exec.js";
import type { LoopbackProxy } from "./loopback-proxy.js";
import { writeSysctl } from "./linux/sysctl.js";
import type { Op } from "./plan.js";
import { batches, ipArgv, steps, type Batch } from "./render/steps.js";

async function runBatch(runner: Runner, proxy: LoopbackProxy, batch: Batch): Promise<void> {
  const input = `${batch.lines.join("\n")}\n`;
  switch (batch.runner.kind) {
    case "ip":
      await runner.run(ipArgv(batch.runner.netns, ["-batch", "-"]), input);
      return;
    case "nft":
      await runner.run(["nft", "-f", "-"], input);
      return;
    case "tc":
      await runner.run(["tc", "-batch", "-"], input);
      return;
    case "sysctl":
      for (const line of batch.lines) {
        const eq = line.indexOf("=");
        await writeSysctl(line.slice(0, eq), line.slice(eq + 1));
      }
      return;
    case "proxy":
      for (const cmd of batch.proxy) {
        if (cmd.action === "open") await proxy.open(cmd.spec);
        else await proxy.close(cmd.protocol, cmd.port);
      }
      return;
  }
}

export async function apply(runner: Runner, proxy: LoopbackProxy, ops: readonly Op[]): Promise<void> {
  for (const batch of batches(steps(ops))) await runBatch(runner, proxy, batch);
}
