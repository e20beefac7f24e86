/**
 * Runs a plan: each batch of steps is one process (`ip -batch`, `nsenter … ip -batch`, `tc -batch`,
 * `bridge -batch`, one atomic `nft -f`, one `iptables-restore` per filter table), sysctl writes, calls to
 * firewalld or loopback proxy listeners. Link, address, route, tc, FDB and firewall batches run in plan order
 * and stop at the first failure; the nft transaction runs beside them, since nft rules and elements name
 * links only as text and never need them to exist.
 */
import { firewalldArgv } from "./firewall/firewalld.js";
import { iptablesRestoreArgv, iptablesRestoreInput } from "./firewall/iptables.js";
import type { Runner } from "./linux/exec.js";
import type { Resolver } from "../dns/resolver.js";
import type { LoopbackProxy } from "./loopback-proxy.js";
import { removeResolvConf, writeResolvConf } from "./linux/resolv-conf.js";
import { writeSysctl } from "./linux/sysctl.js";
import type { Op } from "./plan.js";
import { nftScriptPass } from "./render/nft.js";
import { batchesPass, ipArgv, stepsPass, type Batch } from "./render/steps.js";
import { runYielding } from "./slices.js";

/** What hostnetd serves itself, which plans open and close like kernel objects. */
export interface InProcess {
  readonly proxy: LoopbackProxy;
  readonly resolver: Resolver;
}

async function runBatch(runner: Runner, { proxy, resolver }: InProcess, batch: Batch): Promise<void> {
  const input = (): string => `${batch.lines.join("\n")}\n`;
  switch (batch.runner.kind) {
    case "ip":
      await runner.run(
        ipArgv(batch.runner.netns, [...(batch.runner.family === 6 ? ["-6"] : []), "-batch", "-"]),
        input(),
      );
      return;
    case "nft":
      await runner.run(["nft", "-f", "-"], await runYielding(nftScriptPass(batch.lines)));
      return;
    case "tc":
      await runner.run(["tc", "-batch", "-"], input());
      return;
    case "bridge":
      await runner.run(["bridge", "-batch", "-"], input());
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
    case "iptables":
      await runner.run(
        iptablesRestoreArgv(batch.runner.backend, batch.runner.family),
        iptablesRestoreInput(batch.lines),
      );
      return;
    case "firewalld":
      for (const line of batch.lines) await runner.run(firewalldArgv(line));
      return;
    case "resolver":
      for (const cmd of batch.listeners ?? []) {
        if (cmd.action === "open") await resolver.open(cmd.spec);
        else await resolver.close(cmd.address);
      }
      return;
    case "file":
      for (const cmd of batch.files ?? []) {
        if (cmd.action === "write") await writeResolvConf(cmd.netns, cmd.text);
        else await removeResolvConf(cmd.netns);
      }
      return;
  }
}

/** An apply's progress: kernel steps (lines of its batches) done, of all its plan has. */
export type ApplyProgress = (done: number, total: number) => void;

export async function apply(
  runner: Runner,
  inProcess: InProcess,
  ops: readonly Op[],
  progress: ApplyProgress = () => undefined,
): Promise<void> {
  // A load balancer's 65,536 elements are rendered in slices: the API answers in between.
  const all = await runYielding(batchesPass(await runYielding(stepsPass(ops))));
  const total = all.reduce((n, b) => n + b.lines.length, 0);
  let done = 0;
  const run = async (batch: Batch): Promise<void> => {
    await runBatch(runner, inProcess, batch);
    done += batch.lines.length;
    progress(done, total);
  };
  const inOrder = async (): Promise<void> => {
    for (const batch of all) if (batch.runner.kind !== "nft") await run(batch);
  };
  const nft = all.filter((b) => b.runner.kind === "nft").map(run);
  const failures = (await Promise.allSettled([inOrder(), ...nft])).flatMap((r) =>
    r.status === "rejected" ? [r.reason as unknown] : [],
  );
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, "several kernel batches failed");
}
