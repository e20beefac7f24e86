/** The whole configuration step: the command line, the file it names, the checks; nothing else is read. */
import { parseCommandLine, type CommandLine } from "./command-line.js";
import { daemonArgs, type DaemonArgs } from "./daemon-args.js";
import { readConfigFile, resolveConfig, type Resolved } from "./resolve.js";

export type Loaded =
  | { readonly action: "help" | "version" }
  | {
      readonly action: Exclude<CommandLine["action"], "help" | "version">;
      readonly resolved: Resolved;
      readonly args: DaemonArgs;
    };

/** Throws UsageError (a flag) or StartupError (the file), each naming the option. */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Loaded {
  const cmd = parseCommandLine(argv);
  if (cmd.action === "help" || cmd.action === "version") return { action: cmd.action };
  const resolved = resolveConfig(cmd, readConfigFile(cmd.configFile, cmd.configGiven), env);
  return { action: cmd.action, resolved, args: daemonArgs(resolved) };
}
