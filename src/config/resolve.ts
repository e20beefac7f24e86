/**
 * The configuration hostnetd runs with: each option from its flag, else the configuration file, else its
 * environment variable or default. Every value is checked against the option's schema, and an error names
 * the option as its source does: the flag, or the file's key.
 */
import { readFileSync } from "node:fs";
import type { TLocalizedValidationError } from "typebox/error";
import { Value } from "typebox/value";
import { UsageError, type CommandLine } from "./command-line.js";
import {
  ConfigFile,
  optionTable,
  optionKeys,
  optionSpec,
  type Config,
  type OptionKey,
  type OptionSpec,
} from "./options.js";

/** A file the configuration names that cannot be used, or a configuration file that is wrong. */
export class StartupError extends Error {}

/** The options a configuration file sets, as read. */
export interface FileValues {
  readonly path: string;
  readonly values: Readonly<Partial<Record<OptionKey, unknown>>>;
}

/** A schema error of the file as a sentence naming its key. */
function fileError(error: TLocalizedValidationError): string {
  const key =
    error.keyword === "additionalProperties"
      ? (error.params.additionalProperties[0] ?? "")
      : (error.instancePath.split("/")[1] ?? "");
  return key in optionTable
    ? `"${key}" ${optionSpec(key as OptionKey).rule}`
    : `unknown key "${key}" (hostnetd --help lists the keys)`;
}

/** The configuration file, checked for JSON and keys; undefined when the default file is absent. */
export function readConfigFile(path: string, given: boolean): FileValues | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (!given && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StartupError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StartupError(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new StartupError(`${path} must hold a JSON object whose keys are options`);
  const [error] = Value.Errors(ConfigFile, parsed);
  if (error !== undefined) throw new StartupError(`${path}: ${fileError(error)}`);
  return { path, values: parsed };
}

type Source = "flag" | "file" | "env" | "default";

export interface Resolved {
  readonly config: Config;
  readonly file: FileValues | undefined;
  /** Where each option that has a value took it from. */
  readonly sources: Readonly<Partial<Record<OptionKey, Source>>>;
  /** The option as its source names it, for errors: `--etcd-key`, or `"etcdKey" in FILE`. */
  readonly name: (key: OptionKey) => string;
  /** An error about options: a usage error when flags alone set them, else the configuration's. */
  readonly refuse: (message: string, ...keys: OptionKey[]) => Error;
}

export function resolveConfig(
  cmd: CommandLine,
  file: FileValues | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Resolved {
  const sources: Partial<Record<OptionKey, Source>> = {};
  const values: Partial<Record<OptionKey, unknown>> = {};
  for (const key of optionKeys) {
    const spec: OptionSpec = optionTable[key];
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    const [source, value]: [Source, unknown] | [undefined, undefined] =
      cmd.flags[key] !== undefined
        ? ["flag", cmd.flags[key]]
        : file?.values[key] !== undefined
          ? ["file", file.values[key]]
          : fromEnv !== undefined && fromEnv !== ""
            ? ["env", fromEnv]
            : spec.default !== undefined
              ? ["default", spec.default]
              : [undefined, undefined];
    if (source === undefined) continue;
    sources[key] = source;
    values[key] = value;
  }
  const name = (key: OptionKey): string => {
    const spec: OptionSpec = optionTable[key];
    const source = sources[key];
    if (source === "file") return `"${key}" in ${file?.path ?? "the configuration file"}`;
    if (source === "env") return spec.env ?? key;
    if (source !== undefined || file === undefined) return `--${spec.flag}`;
    return `--${spec.flag} (or "${key}")`;
  };
  const refuse = (message: string, ...keys: OptionKey[]): Error =>
    keys.every((k) => sources[k] !== "file" && sources[k] !== "env")
      ? new UsageError(message)
      : new StartupError(message);
  for (const key of optionKeys) {
    const spec: OptionSpec = optionTable[key];
    if (key in values && !Value.Check(spec.schema, values[key]))
      throw refuse(`${name(key)} ${spec.rule}`, key);
  }
  // Every option with a default has a value, and each value passed its option's schema.
  return { config: values as Config, file, sources, name, refuse };
}
