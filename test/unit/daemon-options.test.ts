import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine, UsageError } from "../../src/config/command-line.js";
import { daemonArgs, daemonOptions, readTlsFiles, type DaemonArgs } from "../../src/config/daemon-args.js";
import { resolveConfig, StartupError } from "../../src/config/resolve.js";

const CLUSTER = ["--etcd", "https://192.0.2.100:2379", "--host-address", "192.0.2.1"];

/** The daemon's arguments of a command line alone: no configuration file, no environment. */
const parseDaemonArgs = (argv: readonly string[]): DaemonArgs =>
  daemonArgs(resolveConfig(parseCommandLine(argv), undefined, {}));
const parsed = parseDaemonArgs;

describe("parseDaemonArgs", () => {
  it("has the defaults of the usage, and no cluster without --etcd", () => {
    expect(parsed([])).toEqual({
      socket: "/run/hostnet/hostnet.sock",
      stateDir: "/var/lib/hostnet",
      defaultNetwork: true,
      dockerPluginSocket: "/run/docker/plugins/hostnet.sock",
      affinitySeconds: 10800,
      firewallIntegration: "auto",
      resyncMs: 30_000,
      repairLimit: 5,
      hostAddress: null,
      metricsListen: null,
      cluster: null,
    });
    expect(parsed(["--host-address", "192.0.2.1"])).toMatchObject({
      hostAddress: "192.0.2.1",
      cluster: null,
    });
    expect(parseCommandLine(["--help"]).action).toBe("help");
    expect(parsed(["--firewall-integration", "off"]).firewallIntegration).toBe("off");
  });

  it("serves metrics on loopback unless --metrics-listen names an address", () => {
    expect(parsed(["--metrics-listen", "9471"]).metricsListen).toEqual({ host: "127.0.0.1", port: 9471 });
    expect(parsed(["--metrics-listen", "0.0.0.0:80"]).metricsListen).toEqual({ host: "0.0.0.0", port: 80 });
    expect(parsed(["--metrics-listen", "[::1]:9471"]).metricsListen).toEqual({ host: "::1", port: 9471 });
    for (const bad of ["localhost:80", "0", "70000", "300.1.1.1:80", "[::g]:80", "::1:80"])
      expect(() => parsed(["--metrics-listen", bad]), bad).toThrow(/--metrics-listen/);
  });

  it("takes a cluster with TLS: the CA alone, or with a client certificate and key", () => {
    expect(parsed([...CLUSTER, "--etcd-lease-ttl", "5"]).cluster).toEqual({
      etcd: ["https://192.0.2.100:2379"],
      leaseSeconds: 5,
    });
    expect(parsed([...CLUSTER, "--etcd-cacert", "ca.pem"]).cluster?.tls).toEqual({ ca: "ca.pem" });
    expect(
      parsed([...CLUSTER, "--etcd-cacert", "ca.pem", "--etcd-cert", "c.pem", "--etcd-key", "k.pem"]).cluster
        ?.tls,
    ).toEqual({ ca: "ca.pem", client: { cert: "c.pem", key: "k.pem" } });
  });

  it.each([
    [["--etcd-cacert", "ca.pem", "--etcd-cert", "c.pem"], "--etcd-cert needs --etcd-key"],
    [["--etcd-cacert", "ca.pem", "--etcd-key", "k.pem"], "--etcd-key needs --etcd-cert"],
    [["--etcd-cert", "c.pem", "--etcd-key", "k.pem"], "--etcd-cert and --etcd-key need --etcd-cacert"],
  ])("refuses %j as a usage error", (tls, message) => {
    expect(() => parseDaemonArgs([...CLUSTER, ...tls])).toThrow(new UsageError(message));
  });

  it.each([
    ["500ms", 500],
    ["45", 45_000],
    ["1.5s", 1500],
    ["2m", 120_000],
    ["0", 0],
  ])("reads --resync-interval %s as %d ms", (text, ms) => {
    expect(parsed(["--resync-interval", text]).resyncMs).toBe(ms);
  });

  it.each([
    [["--etcd-cacert", "ca.pem"], "--etcd-cacert needs --etcd"],
    [["--etcd-key", "k.pem"], "--etcd-key needs --etcd"],
    [["--etcd", "http://192.0.2.100:2379"], "--etcd needs --host-address"],
    [["--host-address", "host1"], "--host-address must be an IP address"],
    [[...CLUSTER, "--etcd-lease-ttl", "1"], "--etcd-lease-ttl must be whole seconds, at least 2"],
    [
      ["--etcd", "http://192.0.2.100:2379", "--host-address", "192.0.2.1", "--etcd-cacert", "ca.pem"],
      "--etcd-cacert needs https:// URLs in --etcd",
    ],
    [
      ["--etcd", "https://192.0.2.100:2379,http://192.0.2.101:2379", "--host-address", "192.0.2.1"],
      "--etcd URLs are either all https:// or none",
    ],
    [["--lb-affinity-timeout", "0"], "--lb-affinity-timeout must be a whole number of seconds, at least 1"],
    [["--firewall-integration", "on"], "--firewall-integration is auto or off"],
    [
      ["--resync-interval", "soon"],
      "--resync-interval is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none",
    ],
    [
      ["--resync-interval", "10ms"],
      "--resync-interval is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none",
    ],
    [["--repair-limit", "0"], "--repair-limit must be a whole number, at least 1"],
  ])("refuses %j as a usage error", (argv, message) => {
    expect(() => parseDaemonArgs(argv)).toThrow(new UsageError(message));
  });

  it("refuses unknown flags as a usage error", () => {
    expect(() => parseDaemonArgs(["--etcd-ca", "ca.pem"])).toThrow(UsageError);
  });
});

describe("readTlsFiles", () => {
  let dir: string;
  const file = (name: string): string => join(dir, name);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hostnet-tls-unit-"));
    const openssl = (...args: string[]): void => {
      execFileSync("openssl", args, { stdio: "ignore" });
    };
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl("req", "-x509", ...newKey, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-subj", "/CN=ca");
    openssl("req", "-x509", ...newKey, "-keyout", file("c.key"), "-out", file("c.crt"), "-subj", "/CN=c");
    openssl(
      "req",
      "-x509",
      ...newKey,
      "-keyout",
      file("other.key"),
      "-out",
      file("other.crt"),
      "-subj",
      "/CN=o",
    );
    writeFileSync(file("junk.pem"), "not a certificate\n");
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the CA and the client pair", () => {
    const tls = readTlsFiles({ ca: file("ca.crt"), client: { cert: file("c.crt"), key: file("c.key") } });
    expect(tls.rootCertificate.toString()).toContain("BEGIN CERTIFICATE");
    expect(tls.client?.certChain.toString()).toContain("BEGIN CERTIFICATE");
    expect(tls.client?.privateKey.toString()).toContain("PRIVATE KEY");
    expect(readTlsFiles({ ca: file("ca.crt") })).toEqual({ rootCertificate: tls.rootCertificate });
  });

  it("names the flag and the path of a file it cannot read", () => {
    const missing = file("missing.key");
    const read = (): unknown =>
      readTlsFiles({ ca: file("ca.crt"), client: { cert: file("c.crt"), key: missing } });
    expect(read).toThrow(StartupError);
    expect(read).toThrow(`cannot read --etcd-key ${missing}: ENOENT`);
    expect(() => readTlsFiles({ ca: dir })).toThrow(`cannot read --etcd-cacert ${dir}: EISDIR`);
  });

  it("names the flags of files that are no certificate, or not the key of the certificate", () => {
    expect(() => readTlsFiles({ ca: file("junk.pem") })).toThrow(
      `--etcd-cacert ${file("junk.pem")} holds no PEM certificate`,
    );
    expect(() =>
      readTlsFiles({ ca: file("ca.crt"), client: { cert: file("c.crt"), key: file("other.key") } }),
    ).toThrow(
      `--etcd-cert ${file("c.crt")} and --etcd-key ${file("other.key")} are no certificate and its key`,
    );
  });

  it("reads the files of parsed arguments into the daemon's options", () => {
    const args = parsed([...CLUSTER, "--etcd-cacert", file("ca.crt")]);
    expect(daemonOptions(args).cluster?.tls?.rootCertificate.toString()).toContain("BEGIN CERTIFICATE");
    expect(daemonOptions(parsed([])).cluster).toBeNull();
  });
});
