#!/usr/bin/env node
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { startDaemon, type ClusterOptions } from "../src/daemon.js";
import { LB_AFFINITY_SECONDS } from "../src/dataplane/naming.js";
import { createLogger } from "../src/log.js";

const usage = `usage: hostnetd [--socket PATH] [--state-dir DIR] [--no-default-network]
                [--docker-plugin-socket PATH | --no-docker-plugin] [--lb-affinity-timeout SECONDS]
                [--host-address IP [--etcd URL[,URL...] [--etcd-lease-ttl SECONDS]
                 [--etcd-cacert FILE [--etcd-cert FILE --etcd-key FILE]]]]`;

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        socket: { type: "string", default: "/run/hostnet/hostnet.sock" },
        "state-dir": { type: "string", default: "/var/lib/hostnet" },
        "no-default-network": { type: "boolean", default: false },
        "docker-plugin-socket": { type: "string", default: "/run/docker/plugins/hostnet.sock" },
        "no-docker-plugin": { type: "boolean", default: false },
        "lb-affinity-timeout": { type: "string", default: String(LB_AFFINITY_SECONDS) },
        etcd: { type: "string" },
        "host-address": { type: "string" },
        "etcd-lease-ttl": { type: "string", default: "10" },
        "etcd-cacert": { type: "string" },
        "etcd-cert": { type: "string" },
        "etcd-key": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`hostnetd: ${(err as Error).message}\n${usage}\n`);
    process.exit(2);
  }
})();
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const affinitySeconds = Number(values["lb-affinity-timeout"]);
if (!Number.isInteger(affinitySeconds) || affinitySeconds < 1) {
  process.stderr.write(
    `hostnetd: --lb-affinity-timeout must be a whole number of seconds, at least 1\n${usage}\n`,
  );
  process.exit(2);
}

function fail(message: string): never {
  process.stderr.write(`hostnetd: ${message}\n${usage}\n`);
  process.exit(2);
}

const hostAddress = values["host-address"];
if (hostAddress !== undefined && isIP(hostAddress) === 0)
  fail(`--host-address "${hostAddress}" is not an IP address`);

// Without --etcd, overlay networks are this host's own: a routed overlay's (RemoteSubnetRoute).
function clusterOptions(): ClusterOptions | null {
  const etcd = values.etcd;
  if (etcd === undefined) return null;
  if (hostAddress === undefined) fail("--etcd needs --host-address");
  const leaseSeconds = Number(values["etcd-lease-ttl"]);
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 2)
    fail("--etcd-lease-ttl must be whole seconds, at least 2");
  const ca = values["etcd-cacert"];
  const tls =
    ca === undefined
      ? undefined
      : {
          ca,
          ...(values["etcd-cert"] === undefined ? {} : { cert: values["etcd-cert"] }),
          ...(values["etcd-key"] === undefined ? {} : { key: values["etcd-key"] }),
        };
  return {
    etcd: etcd.split(","),
    leaseSeconds,
    ...(tls === undefined ? {} : { tls }),
  };
}
const cluster = clusterOptions();

const log = createLogger();
try {
  const daemon = await startDaemon(
    {
      socket: values.socket,
      stateDir: values["state-dir"],
      defaultNetwork: !values["no-default-network"],
      dockerPluginSocket: values["no-docker-plugin"] ? null : values["docker-plugin-socket"],
      affinitySeconds,
      hostAddress: hostAddress ?? null,
      cluster,
    },
    log,
  );
  const stop = (signal: string): void => {
    log.info({ op: "shutdown", signal }, "stopping");
    void daemon.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  log.fatal({ err }, "hostnetd failed to start");
  process.exit(1);
}
