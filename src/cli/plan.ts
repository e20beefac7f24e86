/** `hostnet plan`: what hostnetd's next converge would change in the kernel, changing nothing. */
import type { Plan } from "../api/rest/wire.js";
import { defineCommand } from "./command.js";
import { json } from "./output.js";

const signs: Readonly<Record<string, string>> = { create: "+", delete: "-", replace: "~" };

/**
 * One line per operation, `+ create  veth hnv-…`, in the order hostnetd would apply them; one a repair
 * holds back says why on the line after it.
 */
export function planText(plan: Plan): string {
  if (plan.Operations.length === 0) return "nothing to change: the kernel matches the store";
  return plan.Operations.map(
    (op) =>
      `${signs[op.Action] ?? "?"} ${op.Action.padEnd(8)}${op.Object}${op.HeldBack === undefined ? "" : `\n    held back: ${op.HeldBack}`}`,
  ).join("\n");
}

export const plan = defineCommand({
  names: ["plan"],
  help: "Show what hostnetd would change in the kernel to match its store",
  async run(ctx) {
    const answer = await ctx.client.plan();
    ctx.out(ctx.json ? json(answer) : planText(answer));
  },
});
