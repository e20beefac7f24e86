/** `hostnet plan`: what hostnetd's next converge would change in the kernel, changing nothing. */
import type { Plan } from "../api/rest/wire.js";
import { defineCommand } from "./command.js";
import { plain, type TableStyle } from "./output.js";

const signs: Readonly<Record<string, string>> = { create: "+", delete: "-", replace: "~" };
/** Green, red and yellow, as diffs and `terraform plan` show them. */
const colours: Readonly<Record<string, string>> = { create: "32", delete: "31", replace: "33" };

function sign(action: string, style: TableStyle): string {
  const text = signs[action] ?? "?";
  const colour = colours[action];
  return style.colour && colour !== undefined ? `\x1b[${colour}m${text}\x1b[0m` : text;
}

/**
 * One line per operation, `+ create  veth hnv-…`, in the order hostnetd would apply them; one a repair
 * holds back, or whose last attempt failed, says why on the lines after it.
 */
export function planText(plan: Plan, style: TableStyle = plain): string {
  if (plan.Operations.length === 0) return "nothing to change: the kernel matches the store";
  return plan.Operations.map(
    (op) =>
      `${sign(op.Action, style)} ${op.Action.padEnd(8)}${op.Object}${op.HeldBack === undefined ? "" : `\n    held back: ${op.HeldBack}`}${op.LastError === undefined ? "" : `\n    last error: ${op.LastError}`}`,
  ).join("\n");
}

export const plan = defineCommand({
  names: ["plan"],
  help: "Show what hostnetd would change in the kernel to match its store",
  async run(ctx) {
    const answer = await ctx.client.plan();
    ctx.show(answer, (style) => planText(answer, style));
  },
});
