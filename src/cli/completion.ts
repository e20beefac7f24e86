/**
 * `hostnet completion bash|zsh|fish`: a completion script generated from the command table, as the help is,
 * so that it offers exactly the commands and options the CLI dispatches.
 */
import {
  defineCommand,
  flagsWithValue,
  globalOptions,
  type Command,
  type Entry,
  type OptionSpecs,
} from "./command.js";
import { UsageError } from "./errors.js";

/** A command or group with the names of every word leading to it, aliases included. */
interface Node {
  readonly entry: Entry;
  readonly path: readonly (readonly string[])[];
}

function nodes(entry: Entry, path: readonly (readonly string[])[] = []): Node[] {
  const below = entry.kind === "group" ? entry.commands.flatMap((c) => nodes(c, [...path, c.names])) : [];
  return [{ entry, path }, ...below];
}

/** Every way to spell a path: `network ls`, `network list`. */
const spellings = (path: readonly (readonly string[])[]): string[] =>
  path.reduce<string[]>(
    (done, names) => done.flatMap((p) => names.map((n) => (p === "" ? n : `${p} ${n}`))),
    [""],
  );

const flags = (options: OptionSpecs): string[] =>
  Object.entries(options).flatMap(([name, o]) => [
    `--${name}`,
    ...(o.short === undefined ? [] : [`-${o.short}`]),
  ]);

const optionsOf = (entry: Entry): OptionSpecs =>
  entry.kind === "command" ? { ...entry.options, ...globalOptions } : globalOptions;

/** Options that take a value (`--socket`, `-o`), whose value is not a command word. */
function valueFlags(all: readonly Node[]): string[] {
  const named = all.flatMap(({ entry }) => flagsWithValue(optionsOf(entry)));
  return [...new Set(named)];
}

function bash(root: Entry): string {
  const all = nodes(root);
  const cases = (lines: (node: Node) => string | undefined): string[] =>
    all.flatMap((node) => {
      const words = lines(node);
      if (words === undefined) return [];
      return [
        `    ${spellings(node.path)
          .map((p) => `"${p}"`)
          .join("|")}) echo "${words}" ;;`,
      ];
    });
  return [
    '# hostnet completion for bash: eval "$(hostnet completion bash)", or save it in',
    "# /etc/bash_completion.d/hostnet",
    "_hostnet_children() {",
    '  case "$1" in',
    ...cases(({ entry }) =>
      entry.kind === "group" ? entry.commands.flatMap((c) => c.names).join(" ") : undefined,
    ),
    "  esac",
    "}",
    "_hostnet_options() {",
    '  case "$1" in',
    ...cases(({ entry }) => flags(optionsOf(entry)).join(" ")),
    "  esac",
    "}",
    "_hostnet() {",
    '  local cur=${COMP_WORDS[COMP_CWORD]} path="" word i',
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    "    word=${COMP_WORDS[i]}",
    "    case $word in",
    `      ${valueFlags(all).join("|")}) ((i++)) ;;`,
    "      -*) ;;",
    '      *) [[ " $(_hostnet_children "$path") " == *" $word "* ]] && path=${path:+$path }$word ;;',
    "    esac",
    "  done",
    "  if [[ $cur == -* ]]; then",
    '    mapfile -t COMPREPLY < <(compgen -W "$(_hostnet_options "$path")" -- "$cur")',
    "  else",
    '    mapfile -t COMPREPLY < <(compgen -W "$(_hostnet_children "$path")" -- "$cur")',
    "  fi",
    "}",
    "complete -F _hostnet hostnet",
  ].join("\n");
}

/** zsh runs the bash completion through its bashcompinit, which ships with zsh. */
const zsh = (root: Entry): string =>
  [
    "#compdef hostnet",
    '# hostnet completion for zsh: eval "$(hostnet completion zsh)" in ~/.zshrc',
    "autoload -U +X bashcompinit && bashcompinit",
    bash(root),
  ].join("\n");

const fishQuote = (text: string): string => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

function fish(root: Entry): string {
  const lines = [
    "# hostnet completion for fish: hostnet completion fish > ~/.config/fish/completions/hostnet.fish",
  ];
  for (const { entry, path } of nodes(root)) {
    const seen = path.map((names) => `__fish_seen_subcommand_from ${names.join(" ")}`);
    if (entry.kind === "group") {
      const children = entry.commands.flatMap((c) => c.names);
      const condition = [
        ...(path.length === 0 ? ["__fish_use_subcommand"] : seen),
        `not __fish_seen_subcommand_from ${children.join(" ")}`,
      ].join("; and ");
      for (const child of entry.commands)
        for (const name of child.names)
          lines.push(
            `complete -c hostnet -f -n ${fishQuote(condition)} -a ${name} -d ${fishQuote(child.help)}`,
          );
    } else {
      for (const [name, o] of Object.entries(entry.options)) {
        const short = o.short === undefined ? "" : ` -s ${o.short}`;
        const value = o.type === "string" ? " -r" : "";
        lines.push(
          `complete -c hostnet -n ${fishQuote(seen.join("; and "))} -l ${name}${short}${value} -d ${fishQuote(o.description)}`,
        );
      }
    }
  }
  for (const [name, o] of Object.entries(globalOptions)) {
    const short = "short" in o ? ` -s ${o.short}` : "";
    const value = o.type === "string" ? " -r" : "";
    lines.push(`complete -c hostnet -l ${name}${short}${value} -d ${fishQuote(o.description)}`);
  }
  return lines.join("\n");
}

const shells = { bash, zsh, fish } as const;

const isShell = (name: string): name is keyof typeof shells => Object.hasOwn(shells, name);

/** `root` is read when the command runs: the table that holds this command is not built yet when it is made. */
export const completionCommand = (root: () => Entry): Command =>
  defineCommand({
    names: ["completion"],
    help: "Print the shell completion script for bash, zsh or fish",
    args: ["SHELL"],
    examples: [
      "hostnet completion bash > /etc/bash_completion.d/hostnet",
      "hostnet completion fish > ~/.config/fish/completions/hostnet.fish",
    ],
    run(ctx, { args }) {
      if (!isShell(args.SHELL)) throw new UsageError(`unknown shell "${args.SHELL}": bash, zsh or fish`);
      ctx.out(shells[args.SHELL](root()));
      return Promise.resolve();
    },
  });
