/** hostnetd's usage and README's table of options, both made from the option table. */
import { commandFlags } from "./command-line.js";
import { optionKeys, optionTable, type OptionKey, type OptionSpec } from "./options.js";

/** How the option is given on the command line: `--socket PATH`, or `--[no-]default-network` for a boolean. */
function flagSyntax(key: OptionKey): string {
  const spec: OptionSpec = optionTable[key];
  return spec.arg === undefined ? `--[no-]${spec.flag}` : `--${spec.flag} ${spec.arg}`;
}

function defaultText(spec: OptionSpec): string {
  const value = spec.default === undefined ? "none" : JSON.stringify(spec.default);
  return spec.env === undefined ? value : `$${spec.env}, else ${value}`;
}

/** Plain text for a terminal: the `[docs/x.md](docs/x.md)` links of README become their paths. */
const plain = (text: string): string => text.replace(/\[([^\]]+)\]\([^)]+\)/g, "$1").replaceAll("`", "");

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

export function usage(): string {
  const commands = Object.entries(commandFlags).map(([name, f]): [string, string] => [
    `${"short" in f ? `-${f.short}, ` : ""}--${name}${"arg" in f ? ` ${f.arg}` : ""}`,
    f.help,
  ]);
  const options = optionKeys.map((key): [string, string] => {
    const spec: OptionSpec = optionTable[key];
    const reload = spec.reload ? "; SIGHUP applies a change" : "";
    return [flagSyntax(key), `${plain(spec.help)} (key "${key}", default ${defaultText(spec)}${reload})`];
  });
  return [
    "usage: hostnetd [--config FILE] [--check-config] [OPTION...]",
    "",
    ...columns(commands),
    "",
    "Options, each a flag or a key of the configuration file (JSON); a flag wins over the file:",
    ...columns(options),
  ].join("\n");
}

/** README's table of options, laid out as Prettier lays out Markdown tables. */
export function optionsMarkdown(): string {
  const header = ["option", "key in the file", "default", "SIGHUP", "meaning"];
  const rows = optionKeys.map((key) => {
    const spec: OptionSpec = optionTable[key];
    const value = spec.default === undefined ? "none" : `\`${JSON.stringify(spec.default)}\``;
    const cells = [
      `\`${flagSyntax(key)}\``,
      `\`${key}\``,
      spec.env === undefined ? value : `\`$${spec.env}\`, else ${value}`,
      spec.reload ? "applies" : "restart",
      spec.help,
    ];
    // A `|` of a cell, as in `--firewall-integration auto|off`, would end it.
    return cells.map((cell) => cell.replaceAll("|", "\\|"));
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
