/**
 * The daemon's options of a resolved configuration (resolve.ts): the checks between options, then the etcd
 * TLS files read, so that a missing or wrong file stops hostnetd, naming its flag or key, before it changes
 * anything in the kernel.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { ClusterOptions, DaemonOptions } from "../daemon.js";
import { isIP } from "node:net";
import { DURATION, METRICS_LISTEN, optionSpec, type OptionKey } from "./options.js";
import { StartupError, type Resolved } from "./resolve.js";

/** The etcd TLS files as the configuration names them; read by readTlsFiles(). */
export interface EtcdTlsFiles {
  readonly ca: string;
  readonly client?: { readonly cert: string; readonly key: string };
}

type ClusterArgs = Omit<ClusterOptions, "tls"> & { readonly tls?: EtcdTlsFiles };

export type DaemonArgs = Omit<DaemonOptions, "cluster"> & { readonly cluster: ClusterArgs | null };

/** How errors name an option: by flag unless the configuration says otherwise. */
export type OptionName = (key: OptionKey) => string;

const flagName: OptionName = (key) => `--${optionSpec(key).flag}`;

/** The daemon's options of a configuration, checked against each other. */
export function daemonArgs(resolved: Resolved): DaemonArgs {
  const { config } = resolved;
  return {
    socket: config.socket,
    stateDir: config.stateDir,
    defaultNetwork: config.defaultNetwork,
    dockerPluginSocket: config.dockerPlugin ? config.dockerPluginSocket : null,
    affinitySeconds: config.lbAffinityTimeout,
    firewallIntegration: config.firewallIntegration,
    resyncMs: resyncMs(resolved),
    repairLimit: config.repairLimit,
    hostAddress: config.hostAddress ?? null,
    metricsListen: metricsListen(resolved),
    cluster: clusterArgs(resolved),
  };
}

/** Where the metrics listener listens: loopback unless an address is given. */
function metricsListen({ config, name, refuse }: Resolved): { host: string; port: number } | null {
  if (config.metricsListen === undefined) return null;
  const m = new RegExp(METRICS_LISTEN).exec(config.metricsListen);
  const port = Number(m?.[2]);
  const host = m?.[1]?.replace(/^\[(.*)\]$/, "$1") ?? "127.0.0.1";
  if (m === null || port < 1 || port > 65535 || isIP(host) === 0)
    throw refuse(`${name("metricsListen")} ${optionSpec("metricsListen").rule}`, "metricsListen");
  return { host, port };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration (options.ts's DURATION) in milliseconds; undefined if it is none. */
function durationMs(text: string): number | undefined {
  const m = new RegExp(DURATION).exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? "s"] ?? 1000));
}

/** A resync more often than every 100ms would keep the reconciler busy with nothing but checking. */
function resyncMs({ config, name, refuse }: Resolved): number {
  const ms = durationMs(config.resyncInterval);
  if (ms === undefined || (ms > 0 && ms < 100))
    throw refuse(`${name("resyncInterval")} ${optionSpec("resyncInterval").rule}`, "resyncInterval");
  return ms;
}

function clusterArgs({ config, name, refuse }: Resolved): ClusterArgs | null {
  const { etcd, etcdCacert: ca, etcdCert: cert, etcdKey: key } = config;
  if (etcd === undefined) {
    const tls = (["etcdCacert", "etcdCert", "etcdKey"] as const).find((k) => config[k] !== undefined);
    if (tls !== undefined) throw refuse(`${name(tls)} needs ${name("etcd")}`, tls);
    // Without etcd, overlay networks are this host's own: a routed overlay's (RemoteSubnetRoute).
    return null;
  }
  if (config.hostAddress === undefined) throw refuse(`${name("etcd")} needs ${name("hostAddress")}`, "etcd");
  // A client certificate is half of a pair, and is checked against no CA unless one is given.
  if (cert !== undefined && key === undefined)
    throw refuse(`${name("etcdCert")} needs ${name("etcdKey")}`, "etcdCert");
  if (key !== undefined && cert === undefined)
    throw refuse(`${name("etcdKey")} needs ${name("etcdCert")}`, "etcdKey");
  if (cert !== undefined && ca === undefined)
    throw refuse(
      `${name("etcdCert")} and ${name("etcdKey")} need ${name("etcdCacert")}`,
      "etcdCert",
      "etcdKey",
    );
  const schemes = new Set(etcd.map((u) => (u.startsWith("https://") ? "https" : "other")));
  // The etcd client uses one kind of channel for all URLs: TLS as soon as one is https:// or a CA is given.
  if (schemes.size > 1) throw refuse(`${name("etcd")} URLs are either all https:// or none`, "etcd");
  if (ca !== undefined && !schemes.has("https"))
    throw refuse(`${name("etcdCacert")} needs https:// URLs in ${name("etcd")}`, "etcdCacert", "etcd");
  return {
    etcd,
    leaseSeconds: config.etcdLeaseTtl,
    ...(ca === undefined
      ? {}
      : { tls: { ca, ...(cert === undefined || key === undefined ? {} : { client: { cert, key } }) } }),
  };
}

function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StartupError(`cannot read ${option} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The contents of the etcd TLS files, checked as far as they can be without etcd. */
export function readTlsFiles(
  files: EtcdTlsFiles,
  name: OptionName = flagName,
): NonNullable<ClusterOptions["tls"]> {
  const rootCertificate = readOptionFile(name("etcdCacert"), files.ca);
  try {
    new X509Certificate(rootCertificate);
  } catch (err) {
    throw new StartupError(
      `${name("etcdCacert")} ${files.ca} holds no PEM certificate: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (files.client === undefined) return { rootCertificate };
  const certChain = readOptionFile(name("etcdCert"), files.client.cert);
  const privateKey = readOptionFile(name("etcdKey"), files.client.key);
  try {
    createSecureContext({ cert: certChain, key: privateKey });
  } catch (err) {
    throw new StartupError(
      `${name("etcdCert")} ${files.client.cert} and ${name("etcdKey")} ${files.client.key} are no certificate and its key: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { rootCertificate, client: { certChain, privateKey } };
}

/** DaemonOptions of parsed arguments, with the etcd TLS files read. */
export function daemonOptions(args: DaemonArgs, name: OptionName = flagName): DaemonOptions {
  if (args.cluster === null) return { ...args, cluster: null };
  const { tls, ...cluster } = args.cluster;
  return {
    ...args,
    cluster: { ...cluster, ...(tls === undefined ? {} : { tls: readTlsFiles(tls, name) }) },
  };
}
