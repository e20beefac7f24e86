import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../../../src/config/command-line.js";
import { daemonOptions } from "../../../src/config/daemon-args.js";
import { loadConfig } from "../../../src/config/load.js";
import { optionKeys, optionTable } from "../../../src/config/options.js";
import { reload } from "../../../src/config/reload.js";
import { readConfigFile, resolveConfig, StartupError } from "../../../src/config/resolve.js";
import { usage } from "../../../src/config/usage.js";

let dir: string;
const file = (name: string): string => join(dir, name);

/** Writes a configuration file and loads it with the given flags. */
function load(contents: unknown, ...flags: string[]): ReturnType<typeof loadConfig> {
  const path = file("hostnetd.json");
  writeFileSync(path, typeof contents === "string" ? contents : JSON.stringify(contents));
  return loadConfig(["--config", path, ...flags], {});
}

function resolvedOf(loaded: ReturnType<typeof loadConfig>) {
  if (!("resolved" in loaded)) throw new Error(`${loaded.action}, not a configuration`);
  return loaded;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hostnet-config-unit-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
      "-keyout",
      file("ca.key"),
      "-out",
      file("ca.crt"),
      "-subj",
      "/CN=ca",
    ]),
    { stdio: "ignore" },
  );
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the configuration file", () => {
  it("holds every option under its key; flags win over it", () => {
    const { resolved, args } = resolvedOf(
      load(
        { socket: "/run/x.sock", defaultNetwork: false, dockerPlugin: false, lbAffinityTimeout: 60 },
        "--lb-affinity-timeout",
        "30",
      ),
    );
    expect(args).toMatchObject({
      socket: "/run/x.sock",
      defaultNetwork: false,
      dockerPluginSocket: null,
      affinitySeconds: 30,
    });
    expect(resolved.sources).toMatchObject({
      socket: "file",
      lbAffinityTimeout: "flag",
      stateDir: "default",
    });
  });

  it("refuses an unknown key, naming it and the file, before anything else is read", () => {
    expect(() => load({ socket: "/run/x.sock", sokcet: "/run/y.sock" })).toThrow(
      new StartupError(`${file("hostnetd.json")}: unknown key "sokcet" (hostnetd --help lists the keys)`),
    );
  });

  it.each([
    [{ lbAffinityTimeout: "60" }, '"lbAffinityTimeout" must be a whole number of seconds, at least 1'],
    [{ defaultNetwork: "no" }, '"defaultNetwork" must be true or false'],
    [{ etcd: "http://192.0.2.100:2379" }, '"etcd" must be a list of URLs'],
    [{ hostAddress: "host1" }, '"hostAddress" must be an IP address'],
    [{ logLevel: "loud" }, '"logLevel" must be fatal, error, warn, info, debug, trace or silent'],
    [{ firewallIntegration: "on" }, '"firewallIntegration" is auto or off'],
    [{ repairLimit: 0 }, '"repairLimit" must be a whole number, at least 1'],
    [
      { resyncInterval: 30 },
      '"resyncInterval" is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none',
    ],
  ])("refuses %j, naming the key", (contents, message) => {
    expect(() => load(contents)).toThrow(new StartupError(`${file("hostnetd.json")}: ${message}`));
  });

  it("holds the resync interval to at least 100ms, naming the key, and reads a duration", () => {
    expect(() => load({ resyncInterval: "10ms" })).toThrow(
      new StartupError(
        `"resyncInterval" in ${file("hostnetd.json")} is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none`,
      ),
    );
    expect(resolvedOf(load({ resyncInterval: "2m", firewallIntegration: "off" })).args).toMatchObject({
      resyncMs: 120_000,
      firewallIntegration: "off",
    });
  });

  it("refuses a file that is not a JSON object", () => {
    expect(() => load("{ socket: 1 ")).toThrow(StartupError);
    expect(() => load(["socket"])).toThrow(`${file("hostnetd.json")} must hold a JSON object`);
  });

  it("names the file's keys in checks between options, and the flag of one that is absent", () => {
    expect(() => load({ etcd: ["http://192.0.2.100:2379"] })).toThrow(
      new StartupError(`"etcd" in ${file("hostnetd.json")} needs --host-address (or "hostAddress")`),
    );
  });

  it("names the key of a certificate it cannot read, before hostnetd starts", () => {
    const missing = file("missing.crt");
    const { args, resolved } = resolvedOf(
      load({ etcd: ["https://192.0.2.100:2379"], hostAddress: "192.0.2.1", etcdCacert: missing }),
    );
    expect(() => daemonOptions(args, resolved.name)).toThrow(
      `cannot read "etcdCacert" in ${file("hostnetd.json")} ${missing}: ENOENT`,
    );
    const ok = resolvedOf(
      load({ etcd: ["https://192.0.2.100:2379"], hostAddress: "192.0.2.1", etcdCacert: file("ca.crt") }),
    );
    expect(daemonOptions(ok.args, ok.resolved.name).cluster?.tls?.rootCertificate.toString()).toContain(
      "BEGIN CERTIFICATE",
    );
  });

  it("may be absent where it is the default, not where --config names it", () => {
    expect(readConfigFile(file("absent.json"), false)).toBeUndefined();
    expect(() => readConfigFile(file("absent.json"), true)).toThrow(
      `cannot read ${file("absent.json")}: ENOENT`,
    );
  });

  it("takes a flag's value as the file's JSON, and refuses a wrong one as a usage error", () => {
    const cmd = parseCommandLine(["--etcd", "http://a:2379,http://b:2379", "--etcd-lease-ttl", "5"]);
    expect(cmd.flags).toEqual({ etcd: ["http://a:2379", "http://b:2379"], etcdLeaseTtl: 5 });
    expect(() => resolveConfig(parseCommandLine(["--lb-affinity-timeout", "soon"]), undefined, {})).toThrow(
      new UsageError("--lb-affinity-timeout must be a whole number of seconds, at least 1"),
    );
    expect(() => resolveConfig(parseCommandLine(["--no-socket"]), undefined, {})).toThrow(UsageError);
  });

  it("takes an environment variable's default where neither flag nor file sets the option", () => {
    const env = { HOSTNET_LOG_LEVEL: "debug" };
    expect(resolveConfig(parseCommandLine([]), undefined, env).config.logLevel).toBe("debug");
    expect(resolveConfig(parseCommandLine(["--log-level", "warn"]), undefined, env).config.logLevel).toBe(
      "warn",
    );
    expect(() => resolveConfig(parseCommandLine([]), undefined, { HOSTNET_LOG_LEVEL: "loud" })).toThrow(
      new StartupError("HOSTNET_LOG_LEVEL must be fatal, error, warn, info, debug, trace or silent"),
    );
  });
});

describe("SIGHUP", () => {
  it("applies what may change, names what needs a restart, and keeps the old value of that", () => {
    const before = resolvedOf(load({ logLevel: "info", socket: "/run/a.sock" })).resolved.config;
    const after = resolvedOf(load({ logLevel: "debug", socket: "/run/b.sock" })).resolved.config;
    const levels: string[] = [];
    const outcome = reload(before, after, { logLevel: (l) => levels.push(l) });
    expect(outcome).toMatchObject({ applied: ["logLevel"], needRestart: ["socket"] });
    expect(outcome.running).toMatchObject({ logLevel: "debug", socket: "/run/a.sock" });
    expect(levels).toEqual(["debug"]);
    expect(reload(outcome.running, after, { logLevel: (l) => levels.push(l) }).applied).toEqual([]);
  });
});

describe("the usage", () => {
  it("lists every option by flag and key, and every key is camelCase of its flag", () => {
    const text = usage();
    for (const key of optionKeys) {
      const { flag } = optionTable[key];
      expect(text).toMatch(new RegExp(`--(\\[no-\\])?${flag}\\b`));
      expect(text).toContain(`key "${key}"`);
      expect(flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())).toBe(key);
    }
  });
});
