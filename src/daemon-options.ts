/**
 * hostnetd's command line: flags to DaemonOptions. Usage errors are found before anything is read; the etcd
 * TLS files are read next, so that a missing or wrong file stops hostnetd, naming its flag, before it
 * changes anything in the kernel.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import type { ClusterOptions, DaemonOptions } from "./daemon.js";
import { firewallIntegrations } from "./dataplane/firewall/exceptions.js";
import { defaultRepairLimits } from "./dataplane/holds.js";
import { LB_AFFINITY_SECONDS } from "./dataplane/objects.js";
import { defaultWatchOptions } from "./dataplane/watch.js";

export const DAEMON_USAGE = `usage: hostnetd [--socket PATH] [--state-dir DIR] [--no-default-network]
                [--docker-plugin-socket PATH | --no-docker-plugin] [--lb-affinity-timeout SECONDS]
                [--firewall-integration auto|off]
                [--resync-interval DURATION] [--repair-limit N]
                [--host-address IP [--etcd URL[,URL...] [--etcd-lease-ttl SECONDS]
                 [--etcd-cacert FILE [--etcd-cert FILE --etcd-key FILE]]]]`;

/** Flags that do not go together, or a value that is not one: exit 2 with the usage. */
export class UsageError extends Error {}

/** A file a flag names that cannot be used. */
export class StartupError extends Error {}

/** The etcd TLS files as the flags name them; read by readTlsFiles(). */
export interface EtcdTlsFiles {
  readonly ca: string;
  readonly client?: { readonly cert: string; readonly key: string };
}

type ClusterArgs = Omit<ClusterOptions, "tls"> & { readonly tls?: EtcdTlsFiles };

export type DaemonArgs = Omit<DaemonOptions, "cluster"> & { readonly cluster: ClusterArgs | null };

/** The options of a command line, or "help" for --help. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        socket: { type: "string", default: "/run/hostnet/hostnet.sock" },
        "state-dir": { type: "string", default: "/var/lib/hostnet" },
        "no-default-network": { type: "boolean", default: false },
        "docker-plugin-socket": { type: "string", default: "/run/docker/plugins/hostnet.sock" },
        "no-docker-plugin": { type: "boolean", default: false },
        "lb-affinity-timeout": { type: "string", default: String(LB_AFFINITY_SECONDS) },
        "firewall-integration": { type: "string", default: "auto" },
        "resync-interval": { type: "string", default: `${String(defaultWatchOptions.resyncMs / 1000)}s` },
        "repair-limit": { type: "string", default: String(defaultRepairLimits.limit) },
        etcd: { type: "string" },
        "host-address": { type: "string" },
        "etcd-lease-ttl": { type: "string", default: "10" },
        "etcd-cacert": { type: "string" },
        "etcd-cert": { type: "string" },
        "etcd-key": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  if (values.help) return "help";
  const affinitySeconds = Number(values["lb-affinity-timeout"]);
  if (!Number.isInteger(affinitySeconds) || affinitySeconds < 1)
    throw new UsageError("--lb-affinity-timeout must be a whole number of seconds, at least 1");
  const firewallIntegration = firewallIntegrations.find((v) => v === values["firewall-integration"]);
  if (firewallIntegration === undefined)
    throw new UsageError(`--firewall-integration is ${firewallIntegrations.join(" or ")}`);
  const resyncMs = durationMs(values["resync-interval"]);
  if (resyncMs === undefined || (resyncMs > 0 && resyncMs < 100))
    throw new UsageError(
      "--resync-interval is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none",
    );
  const repairLimit = Number(values["repair-limit"]);
  if (!Number.isInteger(repairLimit) || repairLimit < 1)
    throw new UsageError("--repair-limit must be a whole number, at least 1");
  const hostAddress = values["host-address"];
  if (hostAddress !== undefined && isIP(hostAddress) === 0)
    throw new UsageError(`--host-address "${hostAddress}" is not an IP address`);
  return {
    socket: values.socket,
    stateDir: values["state-dir"],
    defaultNetwork: !values["no-default-network"],
    dockerPluginSocket: values["no-docker-plugin"] ? null : values["docker-plugin-socket"],
    affinitySeconds,
    firewallIntegration,
    resyncMs,
    repairLimit,
    hostAddress: hostAddress ?? null,
    cluster: clusterArgs(values),
  };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `500ms`, `2m`, `1h` or a bare number of seconds, in milliseconds; undefined if it is none. */
function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000));
}

function clusterArgs(values: {
  etcd?: string | undefined;
  "host-address"?: string | undefined;
  "etcd-lease-ttl": string;
  "etcd-cacert"?: string | undefined;
  "etcd-cert"?: string | undefined;
  "etcd-key"?: string | undefined;
}): ClusterArgs | null {
  const etcd = values.etcd;
  const hostAddress = values["host-address"];
  const ca = values["etcd-cacert"];
  const cert = values["etcd-cert"];
  const key = values["etcd-key"];
  if (etcd === undefined) {
    const tlsFlag = [
      ["--etcd-cacert", ca],
      ["--etcd-cert", cert],
      ["--etcd-key", key],
    ].find(([, v]) => v !== undefined)?.[0];
    if (tlsFlag !== undefined) throw new UsageError(`${tlsFlag} needs --etcd`);
  }
  // Without --etcd, overlay networks are this host's own: a routed overlay's (RemoteSubnetRoute).
  if (etcd === undefined) return null;
  if (hostAddress === undefined) throw new UsageError("--etcd needs --host-address");
  const leaseSeconds = Number(values["etcd-lease-ttl"]);
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 2)
    throw new UsageError("--etcd-lease-ttl must be whole seconds, at least 2");
  // A client certificate is half of a pair, and is checked against no CA unless one is given.
  if (cert !== undefined && key === undefined) throw new UsageError("--etcd-cert needs --etcd-key");
  if (key !== undefined && cert === undefined) throw new UsageError("--etcd-key needs --etcd-cert");
  if (cert !== undefined && ca === undefined)
    throw new UsageError("--etcd-cert and --etcd-key need --etcd-cacert");
  const urls = etcd.split(",");
  const schemes = new Set(urls.map((u) => (u.startsWith("https://") ? "https" : "other")));
  // The etcd client uses one kind of channel for all URLs: TLS as soon as one is https:// or a CA is given.
  if (schemes.size > 1) throw new UsageError("--etcd URLs are either all https:// or none");
  if (ca !== undefined && !schemes.has("https"))
    throw new UsageError("--etcd-cacert needs https:// URLs in --etcd");
  return {
    etcd: urls,
    leaseSeconds,
    ...(ca === undefined
      ? {}
      : { tls: { ca, ...(cert === undefined || key === undefined ? {} : { client: { cert, key } }) } }),
  };
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StartupError(`cannot read ${flag} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The contents of the etcd TLS files, checked as far as they can be without etcd. */
export function readTlsFiles(files: EtcdTlsFiles): NonNullable<ClusterOptions["tls"]> {
  const rootCertificate = readFlagFile("--etcd-cacert", files.ca);
  try {
    new X509Certificate(rootCertificate);
  } catch (err) {
    throw new StartupError(`--etcd-cacert ${files.ca} holds no PEM certificate: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (files.client === undefined) return { rootCertificate };
  const certChain = readFlagFile("--etcd-cert", files.client.cert);
  const privateKey = readFlagFile("--etcd-key", files.client.key);
  try {
    createSecureContext({ cert: certChain, key: privateKey });
  } catch (err) {
    throw new StartupError(
      `--etcd-cert ${files.client.cert} and --etcd-key ${files.client.key} are no certificate and its key: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { rootCertificate, client: { certChain, privateKey } };
}

/** DaemonOptions of parsed arguments, with the etcd TLS files read. */
export function daemonOptions(args: DaemonArgs): DaemonOptions {
  if (args.cluster === null) return { ...args, cluster: null };
  const { tls, ...cluster } = args.cluster;
  return { ...args, cluster: { ...cluster, ...(tls === undefined ? {} : { tls: readTlsFiles(tls) }) } };
}
