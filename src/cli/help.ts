/** Help text generated from the command table, so every level's --help matches what it dispatches. */
import { globalOptions, type Entry, type OptionSpec, type OptionSpecs } from "./command.js";

function flag(name: string, o: OptionSpec): string {
  const short = o.short === undefined ? "    " : `-${o.short}, `;
  return `${short}--${name}${o.arg === undefined ? "" : ` ${o.arg}`}`;
}

type Row = readonly [string, string];

const widthOf = (rows: readonly Row[]): number => Math.max(0, ...rows.map(([left]) => left.length));

/** Two columns indented by two spaces; `width` lets several lists share one alignment. */
function columns(rows: readonly Row[], width = widthOf(rows)): string[] {
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
}

function optionRows(options: OptionSpecs): Row[] {
  return Object.entries(options).map(([name, o]) => [
    flag(name, o),
    o.multiple === true ? `${o.description} (repeatable)` : o.description,
  ]);
}

/**
 * @param path the command words that lead to `entry`, e.g. `["network", "create"]`; empty for the root
 */
export function renderHelp(entry: Entry, path: readonly string[]): string {
  const prefix = ["hostnet", ...path].join(" ");
  const lines: string[] = [];
  switch (entry.kind) {
    case "group": {
      lines.push(`Usage: ${prefix} [OPTIONS] COMMAND`, "", entry.help, "", "Commands:");
      lines.push(...columns(entry.commands.map((c) => [c.names.join(", "), c.help])));
      lines.push("", "Options:", ...columns(optionRows(globalOptions)));
      lines.push("", `Run '${prefix} COMMAND --help' for more about a command.`);
      break;
    }
    case "command": {
      const own = optionRows(entry.options);
      const global = optionRows(globalOptions);
      const width = widthOf([...own, ...global]);
      lines.push(`Usage: ${[prefix, "[OPTIONS]", ...entry.args].join(" ")}`, "", entry.help);
      if (entry.names.length > 1) lines.push("", `Aliases: ${entry.names.join(", ")}`);
      if (own.length > 0) lines.push("", "Options:", ...columns(own, width));
      lines.push("", own.length > 0 ? "Global options:" : "Options:", ...columns(global, width));
      if (entry.examples.length > 0) lines.push("", "Examples:", ...entry.examples.map((e) => `  ${e}`));
      break;
    }
  }
  return lines.join("\n");
}
