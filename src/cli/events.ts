/** `hostnet events`: hostnetd's event stream, one line per event, as `docker events` prints them. */
import type { EventWire } from "../api/rest/events.js";
import { defineCommand } from "./command.js";
import type { TableStyle } from "./output.js";

/**
 * One event for people: `TIME KIND ACTION NAME (cause CAUSE; Key=value, ...)`; wide adds the object's ID,
 * a list is joined with commas.
 */
export function eventText(e: EventWire, style: TableStyle): string {
  const details = Object.entries(e.Details).map(
    ([k, v]) => `${k}=${typeof v === "string" ? v : v.join(",")}`,
  );
  const facts = [`cause ${e.Cause}`, ...(style.wide ? [`ID=${e.ID}`] : []), ...details];
  return `${e.Time} ${e.Kind} ${e.Action} ${e.Name} (${facts.join(", ")})`;
}

export const events = defineCommand({
  names: ["events"],
  help: "Print hostnetd's events as they happen: creates, deletes, attaches, policy changes, failures, repairs",
  options: {
    since: {
      type: "string",
      arg: "TIME",
      description: "First the kept events from TIME (RFC 3339 or Unix seconds), then the live ones",
    },
    until: { type: "string", arg: "TIME", description: "Stop at TIME (at once, if it is past)" },
    kind: {
      type: "string",
      arg: "KIND",
      description: "Only events of network, endpoint, namespace, loadbalancer, host or cluster",
    },
    object: { type: "string", arg: "REF", description: "Only events of the object with this ID or name" },
  },
  examples: [
    "hostnet events",
    "hostnet events --since 2026-12-07T10:00:00Z --until 2026-12-07T11:00:00Z",
    "hostnet events --kind endpoint --json",
  ],
  async run(ctx, { values }) {
    await ctx.client.events(values, (e) => {
      if (ctx.output === "json") ctx.out(JSON.stringify(e));
      else ctx.show(e, (style) => eventText(e, style));
    });
  },
});
