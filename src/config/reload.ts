/**
 * SIGHUP: hostnetd reads its configuration again; what may change without a restart (the table's `reload`)
 * is applied, and what needs one is named, never half-applied.
 */
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import { loadConfig } from "./load.js";
import { optionKeys, optionTable, type Config, type OptionKey, type ReloadableKey } from "./options.js";

/** How each option SIGHUP may change is applied; the type asks for one per reloadable option. */
export type Reloaders = { readonly [K in ReloadableKey]: (value: Config[K]) => void };

export interface ReloadOutcome {
  readonly applied: readonly OptionKey[];
  readonly needRestart: readonly OptionKey[];
  /** The configuration now in force: the new values of what was applied, the old ones of the rest. */
  readonly running: Config;
}

export function reload(running: Config, next: Config, reloaders: Reloaders): ReloadOutcome {
  const changed = optionKeys.filter((k) => !isDeepStrictEqual(running[k], next[k]));
  const applied = changed.filter((k): k is ReloadableKey => optionTable[k].reload);
  for (const key of applied) applyOne(key, next[key], reloaders);
  return {
    applied,
    needRestart: changed.filter((k) => !optionTable[k].reload),
    running: { ...running, ...Object.fromEntries(applied.map((k) => [k, next[k]])) },
  };
}

function applyOne<K extends ReloadableKey>(key: K, value: Config[K], reloaders: Reloaders): void {
  reloaders[key](value);
}

/** On every SIGHUP, loads the configuration of the same command line again and applies it. */
export function reloadOnSighup(
  argv: readonly string[],
  started: Config,
  reloaders: Reloaders,
  log: Logger,
): void {
  let running = started;
  process.on("SIGHUP", () => {
    try {
      const loaded = loadConfig(argv, process.env);
      if (!("resolved" in loaded)) return;
      const outcome = reload(running, loaded.resolved.config, reloaders);
      running = outcome.running;
      log.info(
        { op: "reload", applied: outcome.applied, needRestart: outcome.needRestart },
        "configuration read again",
      );
      if (outcome.needRestart.length > 0)
        log.warn(
          { op: "reload", needRestart: outcome.needRestart },
          "these options change only with a restart",
        );
    } catch (err) {
      log.error({ op: "reload", err }, "configuration refused; the running one stays");
    }
  });
}
