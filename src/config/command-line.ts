/**
 * hostnetd's command line: the flags of the option table (options.ts), converted to the values the
 * configuration file would hold, and the flags that say what to do (`--config`, `--check-config`, `--help`,
 * `--version`). Nothing is read here.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { IsArray, IsBoolean, IsInteger } from "typebox";
import { optionTable, optionKeys, type OptionKey, type OptionSpec } from "./options.js";

/** Flags that do not go together, or a value that is not one: exit 2 with the usage. */
export class UsageError extends Error {}

const DEFAULT_CONFIG_FILE = "/etc/hostnet/hostnetd.json";

export interface CommandLine {
  readonly action: "run" | "check" | "help" | "version";
  readonly configFile: string;
  /** A file named by `--config` must exist; the default one may not. */
  readonly configGiven: boolean;
  /** The table's options that flags set, as the configuration file would hold them. */
  readonly flags: Readonly<Partial<Record<OptionKey, unknown>>>;
}

/** The flags that are not options of the daemon but say what hostnetd does. */
export const commandFlags = {
  config: {
    type: "string",
    arg: "FILE",
    help: `the configuration file (default ${DEFAULT_CONFIG_FILE}, which may be absent)`,
  },
  "check-config": {
    type: "boolean",
    help: "check the configuration, the files it names and what hostnetd needs of the host, then exit",
  },
  version: { type: "boolean", short: "V", help: "print the version and the commit, then exit" },
  help: { type: "boolean", short: "h", help: "print this help, then exit" },
} as const;

/** A flag's text as the file's JSON: numbers for integers, a comma-separated list for arrays. */
function fromText(spec: OptionSpec, text: string): unknown {
  if (IsInteger(spec.schema)) return /^-?\d+$/.test(text) ? Number(text) : text;
  if (IsArray(spec.schema)) return text.split(",");
  return text;
}

const parseOptions: NonNullable<ParseArgsConfig["options"]> = {
  ...Object.fromEntries(
    optionKeys.map((key) => {
      const spec: OptionSpec = optionTable[key];
      return [spec.flag, { type: IsBoolean(spec.schema) ? "boolean" : "string" }];
    }),
  ),
  ...Object.fromEntries(
    Object.entries(commandFlags).map(([name, f]) => [
      name,
      { type: f.type, ...("short" in f ? { short: f.short } : {}) },
    ]),
  ),
};

export function parseCommandLine(argv: readonly string[]): CommandLine {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: parseOptions, allowNegative: true }));
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  const flags: Partial<Record<OptionKey, unknown>> = {};
  for (const key of optionKeys) {
    const spec: OptionSpec = optionTable[key];
    const value = values[spec.flag];
    if (value !== undefined) flags[key] = typeof value === "string" ? fromText(spec, value) : value;
  }
  const config = values["config"];
  return {
    action:
      values["help"] === true
        ? "help"
        : values["version"] === true
          ? "version"
          : values["check-config"] === true
            ? "check"
            : "run",
    configFile: typeof config === "string" ? config : DEFAULT_CONFIG_FILE,
    configGiven: typeof config === "string",
    flags,
  };
}
