/**
 * The CLI without the process: resolves the command words, parses the rest with `node:util` parseArgs and
 * runs the command. It returns the exit code instead of exiting, so tests run it in process.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { versionLine } from "../build-info.js";
import { createClient } from "../client/client.js";
import {
  defaultSocket,
  flagsWithValue,
  globalOptions,
  type Command,
  type Context,
  type Entry,
  type OptionSpecs,
} from "./command.js";
import { commands } from "./commands.js";
import { exitCodes, reportError, UsageError } from "./errors.js";
import { renderHelp } from "./help.js";
import { json, outputFormats, yaml, type OutputFormat } from "./output.js";

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: colour (unless NO_COLOR) and progress are for people only. */
  readonly terminal: boolean;
}

interface Resolved {
  readonly entry: Entry;
  /** Canonical names of the command words, e.g. `["network", "create"]`. */
  readonly path: readonly string[];
  /** Everything that is not a command word, for parseArgs. */
  readonly rest: readonly string[];
  /** A word that names no command where one was expected. */
  readonly unknown?: string;
}

const globalsWithValue = new Set(flagsWithValue(globalOptions));

/** Walks the command words, which global options may precede: `hostnet -o yaml network ls`. */
function resolve(argv: readonly string[]): Resolved {
  let entry: Entry = commands;
  const path: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (entry.kind === "command" || token === "--") return { entry, path, rest: [...rest, ...argv.slice(i)] };
    if (token.startsWith("-")) {
      rest.push(token);
      const value = argv[i + 1];
      if (globalsWithValue.has(token) && value !== undefined) {
        rest.push(value);
        i++;
      }
      continue;
    }
    const child: Entry | undefined = entry.commands.find((c) => c.names.includes(token));
    if (child === undefined) return { entry, path, rest, unknown: token };
    entry = child;
    path.push(child.names[0]);
  }
  return { entry, path, rest };
}

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

function parseOptions(options: OptionSpecs): ParseOptions {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short === undefined ? {} : { short: o.short }),
        ...(o.multiple === undefined ? {} : { multiple: o.multiple }),
      },
    ]),
  );
}

function parse(entry: Entry, rest: readonly string[]): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args: [...rest],
      options: {
        ...parseOptions(entry.kind === "command" ? entry.options : {}),
        ...parseOptions(globalOptions),
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs goes on to explain how to pass a value that starts with '-'; its first sentence is the error.
    const message = err instanceof Error ? err.message : String(err);
    const first = message.split(/\.(?:\s|$)/)[0] ?? message;
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
}

function socketOf(option: unknown, env: Io["env"]): string {
  if (typeof option === "string") return option;
  const fromEnv = env["HOSTNET_SOCKET"];
  return fromEnv === undefined || fromEnv === "" ? defaultSocket : fromEnv;
}

function outputOf(values: Readonly<Record<string, unknown>>, command: Command): OutputFormat {
  const option = values["output"];
  // parseArgs gives a string option a string, or nothing when it was not given.
  if (typeof option !== "string") return values["json"] === true ? "json" : command.output;
  const format = outputFormats.find((f) => f === option);
  if (format === undefined)
    throw new UsageError(`--output "${option}" is not one of ${outputFormats.join(", ")}`);
  if (values["json"] === true && format !== "json")
    throw new UsageError(`--json and --output ${format} ask for different output`);
  return format;
}

/** no-color.org: a NO_COLOR that is set and not empty turns colour off. */
const colourOn = (io: Io): boolean => io.terminal && (io.env["NO_COLOR"] ?? "") === "";

/** Runs `hostnet ARGV…` and returns its exit code. Never throws. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const { entry, path, rest, unknown } = resolve(argv);
  try {
    if (unknown !== undefined) throw new UsageError(`unknown command "${unknown}"`);
    const { values, positionals } = parse(entry, rest);
    if (values["version"] === true) {
      io.stdout(`${versionLine("hostnet")}\n`);
      return exitCodes.ok;
    }
    if (values["help"] === true) {
      io.stdout(`${renderHelp(entry, path)}\n`);
      return exitCodes.ok;
    }
    if (entry.kind === "group") {
      if (argv.length === 0) {
        io.stderr(`${renderHelp(entry, path)}\n`);
        return exitCodes.usage;
      }
      const word = positionals[0];
      throw new UsageError(word === undefined ? "missing command" : `unknown command "${word}"`);
    }
    const output = outputOf(values, entry);
    const style = { wide: output === "wide", colour: colourOn(io) };
    const out = (text: string): void => {
      io.stdout(`${text}\n`);
    };
    const ctx: Context = {
      client: createClient({ socket: socketOf(values["socket"], io.env) }),
      output,
      style,
      terminal: io.terminal,
      out,
      write: io.stdout,
      show(value, human) {
        if (output === "json") out(json(value));
        else if (output === "yaml") out(yaml(value));
        else if (human !== undefined) out(human(style));
      },
    };
    await entry.run(ctx, positionals, values);
    return exitCodes.ok;
  } catch (err) {
    return reportError(err, ["hostnet", ...path].join(" "), io.stderr);
  }
}
