/**
 * The shape of the CLI's command table (pnpm's `{ names, help, options, run }`): one table both
 * dispatches and generates the help, so the two cannot disagree.
 */
import type { HostnetClient } from "../client/client.js";
import { UsageError } from "./errors.js";

/** A `node:util` parseArgs option, plus what the help needs to describe it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder for the value in help, e.g. `CIDR`. */
  readonly arg?: string;
  readonly description: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S["type"] extends "boolean"
  ? S["multiple"] extends true
    ? boolean[]
    : boolean
  : S["multiple"] extends true
    ? string[]
    : string;

/** The parsed options of a command; absent when not given, since no option has a parseArgs default. */
export type Values<O extends OptionSpecs> = { readonly [K in keyof O]?: ValueOf<O[K]> };

export const defaultSocket = "/run/hostnet/hostnet.sock";

/** Accepted at every level, before or after the command words. */
export const globalOptions = {
  socket: {
    type: "string",
    arg: "PATH",
    description: `hostnetd's socket (default: $HOSTNET_SOCKET, else ${defaultSocket})`,
  },
  json: { type: "boolean", description: "Print the API's JSON instead of tables" },
  help: { type: "boolean", short: "h", description: "Show this help" },
} as const satisfies OptionSpecs;

export interface Context {
  readonly client: HostnetClient;
  /** --json: print what the API answered instead of a table. */
  readonly json: boolean;
  /** Prints one block of output; the newline is added. */
  out(text: string): void;
}

export interface Command {
  readonly kind: "command";
  /** The first name is the canonical one; the others are aliases. */
  readonly names: readonly [string, ...string[]];
  /** One line, shown in the parent's list and on top of the command's own help. */
  readonly help: string;
  /** Required positional arguments, in order. */
  readonly args: readonly string[];
  readonly options: OptionSpecs;
  readonly examples: readonly string[];
  run(ctx: Context, positionals: readonly string[], values: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface Group {
  readonly kind: "group";
  readonly names: readonly [string, ...string[]];
  readonly help: string;
  readonly commands: readonly Entry[];
}

export type Entry = Command | Group;

interface Input<O extends OptionSpecs, A extends string> {
  readonly args: Readonly<Record<A, string>>;
  readonly values: Values<O>;
}

export interface CommandSpec<O extends OptionSpecs, A extends string> {
  readonly names: readonly [string, ...string[]];
  readonly help: string;
  readonly args?: readonly A[];
  readonly options?: O;
  readonly examples?: readonly string[];
  run(ctx: Context, input: Input<O, A>): Promise<void>;
}

/** Types a command's `run` by its own options and arguments, and checks the argument count for it. */
export function defineCommand<const O extends OptionSpecs = OptionSpecs, const A extends string = never>(
  spec: CommandSpec<O, A>,
): Command {
  const args: readonly A[] = spec.args ?? [];
  return {
    kind: "command",
    names: spec.names,
    help: spec.help,
    args,
    options: spec.options ?? {},
    examples: spec.examples ?? [],
    run(ctx, positionals, values) {
      const missing = args[positionals.length];
      if (missing !== undefined) throw new UsageError(`missing argument ${missing}`);
      const extra = positionals[args.length];
      if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
      const named = Object.fromEntries(args.map((a, i) => [a, positionals[i]])) as Record<A, string>;
      // main parsed `values` with exactly these options, so their types are the ones Values<O> names.
      return spec.run(ctx, { args: named, values: values as Values<O> });
    },
  };
}

export const group = (spec: Omit<Group, "kind">): Group => ({ kind: "group", ...spec });
