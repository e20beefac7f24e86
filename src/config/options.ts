/**
 * hostnetd's options, one entry each: its flag, its key in the configuration file, its schema (TypeBox), its
 * default, its help and whether SIGHUP can change it. The command line's parser, the usage, the file's schema,
 * `--check-config` and README's table of options are all made from this table, so an option is one entry.
 */
import { Type, type Static, type TSchema } from "typebox";
import { firewallIntegrations } from "../dataplane/firewall/exceptions.js";
import { defaultRepairLimits } from "../dataplane/holds.js";
import { LB_AFFINITY_SECONDS } from "../model/hns-load-balancer.js";
import { defaultWatchOptions } from "../dataplane/watch.js";

export interface OptionSpec<S extends TSchema = TSchema> {
  /** The long flag, without its dashes; a boolean also takes `--no-FLAG`. */
  readonly flag: string;
  /** The value's placeholder in the usage, e.g. `PATH`; none for a boolean. */
  readonly arg?: string;
  /** What the value is, in the file (JSON) and, once converted from its text, on the command line. */
  readonly schema: S;
  readonly default?: Static<S>;
  /** An environment variable whose value, when set, is the default instead. */
  readonly env?: string;
  /** One line for the usage and README. */
  readonly help: string;
  /**
   * What a value must be, as the error that names the option ends: `--etcd-lease-ttl must be whole seconds,
   * at least 2`, `--firewall-integration is auto or off`.
   */
  readonly rule: string;
  /** Whether SIGHUP applies a change of it; any other option needs a restart. */
  readonly reload: boolean;
}

/** Keeps each entry's own types (its schema, whether it has a default, `reload`), checking its default. */
const option = <const E extends OptionSpec>(spec: E & OptionSpec<E["schema"]>): E => spec;

const path = Type.String({ minLength: 1 });

/** `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds. */
export const DURATION = "^(\\d+(?:\\.\\d+)?)(ms|s|m|h)?$";

/** `PORT`, `IPv4:PORT` or `[IPv6]:PORT`. */
export const METRICS_LISTEN = "^(?:(\\d{1,3}(?:\\.\\d{1,3}){3}|\\[[0-9a-fA-F:.]+\\]):)?(\\d{1,5})$";

/** The option's key in the configuration file is its key here. */
export const optionTable = {
  socket: option({
    flag: "socket",
    arg: "PATH",
    schema: path,
    default: "/run/hostnet/hostnet.sock",
    help: "the API's unix socket (mode 0660)",
    rule: "must be a path",
    reload: false,
  }),
  stateDir: option({
    flag: "state-dir",
    arg: "DIR",
    schema: path,
    default: "/var/lib/hostnet",
    help: "where the SQLite store `hostnet.db` lives",
    rule: "must be a path",
    reload: false,
  }),
  defaultNetwork: option({
    flag: "default-network",
    schema: Type.Boolean(),
    default: true,
    help: "create the NAT network `nat` on first start",
    rule: "must be true or false",
    reload: false,
  }),
  dockerPlugin: option({
    flag: "docker-plugin",
    schema: Type.Boolean(),
    default: true,
    help: "serve Docker's network and IPAM drivers on `dockerPluginSocket`",
    rule: "must be true or false",
    reload: false,
  }),
  dockerPluginSocket: option({
    flag: "docker-plugin-socket",
    arg: "PATH",
    schema: path,
    default: "/run/docker/plugins/hostnet.sock",
    help: "where Docker finds hostnet's network and IPAM drivers",
    rule: "must be a path",
    reload: false,
  }),
  lbAffinityTimeout: option({
    flag: "lb-affinity-timeout",
    arg: "SECONDS",
    schema: Type.Integer({ minimum: 1 }),
    default: LB_AFFINITY_SECONDS,
    help: "how long a client of a load balancer with affinity keeps its backend after its last new connection, for load balancers made without AffinityTimeoutSeconds",
    rule: "must be a whole number of seconds, at least 1",
    reload: false,
  }),
  firewallIntegration: option({
    flag: "firewall-integration",
    arg: firewallIntegrations.join("|"),
    schema: Type.Enum(firewallIntegrations),
    default: "auto",
    help: "`off`: add no exception to Docker's, ufw's or firewalld's rules ([docs/firewalls.md](docs/firewalls.md))",
    rule: `is ${firewallIntegrations.join(" or ")}`,
    reload: false,
  }),
  resyncInterval: option({
    flag: "resync-interval",
    arg: "DURATION",
    // durationMs() (daemon-args.ts) reads it, and holds it to at least 100ms.
    schema: Type.String({ pattern: DURATION }),
    default: `${String(defaultWatchOptions.resyncMs / 1000)}s`,
    help: "how long after a full check for drift the next one runs (`500ms`, `30s`, `2m`; `0` for none), and at least four times as long as the last one took; removals are repaired as the kernel reports them ([docs/architecture.md](docs/architecture.md#continuous-convergence-drift-is-repaired-by-itself))",
    rule: "is a duration such as 30s, 500ms or 2m, at least 100ms, or 0 for none",
    reload: false,
  }),
  repairLimit: option({
    flag: "repair-limit",
    arg: "N",
    schema: Type.Integer({ minimum: 1 }),
    default: defaultRepairLimits.limit,
    help: "repairs of one object within a minute before it is held back",
    rule: "must be a whole number, at least 1",
    reload: false,
  }),
  logLevel: option({
    flag: "log-level",
    arg: "LEVEL",
    schema: Type.Enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    env: "HOSTNET_LOG_LEVEL",
    help: "the least severe lines hostnetd logs",
    rule: "must be fatal, error, warn, info, debug, trace or silent",
    reload: true,
  }),
  metricsListen: option({
    flag: "metrics-listen",
    arg: "[ADDR:]PORT",
    // metricsListen() (daemon-args.ts) reads it: an IPv4 address or a bracketed IPv6 one, and the port.
    schema: Type.String({ pattern: METRICS_LISTEN }),
    help: "also serve GET /metrics over TCP for scraping, on 127.0.0.1 unless an address is given ([docs/metrics.md](docs/metrics.md))",
    rule: "is a port (1-65535), or an address and a port: 127.0.0.1:9471, [::1]:9471",
    reload: false,
  }),
  hostAddress: option({
    flag: "host-address",
    arg: "IP",
    schema: Type.Union([Type.String({ format: "ipv4" }), Type.String({ format: "ipv6" })]),
    help: "this host's underlay address, which overlay networks need ([docs/overlay.md](docs/overlay.md))",
    rule: "must be an IP address",
    reload: false,
  }),
  etcd: option({
    flag: "etcd",
    arg: "URL[,URL...]",
    schema: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    help: "the cluster whose overlay networks span hosts; without it, overlay networks are this host's (routed)",
    rule: "must be a list of URLs",
    reload: false,
  }),
  etcdLeaseTtl: option({
    flag: "etcd-lease-ttl",
    arg: "SECONDS",
    schema: Type.Integer({ minimum: 2 }),
    default: 10,
    help: "how long this host's endpoints stay in etcd after hostnetd stops answering it",
    rule: "must be whole seconds, at least 2",
    reload: false,
  }),
  etcdCacert: option({
    flag: "etcd-cacert",
    arg: "FILE",
    schema: path,
    help: "the CA certificates (PEM) etcd's certificate is checked against; https:// URLs only",
    rule: "must be a path",
    reload: false,
  }),
  etcdCert: option({
    flag: "etcd-cert",
    arg: "FILE",
    schema: path,
    help: "this host's client certificate (PEM) for etcd, with `etcdKey`",
    rule: "must be a path",
    reload: false,
  }),
  etcdKey: option({
    flag: "etcd-key",
    arg: "FILE",
    schema: path,
    help: "the private key (PEM) of `etcdCert`",
    rule: "must be a path",
    reload: false,
  }),
};

type Table = typeof optionTable;
export type OptionKey = keyof Table;

/** The options as the file holds them, and as flags and defaults complete them. */
export type Config = {
  readonly [K in OptionKey]: Table[K] extends { default: unknown }
    ? Static<Table[K]["schema"]>
    : Static<Table[K]["schema"]> | undefined;
};

/** The options SIGHUP applies: whatever applies them must take each one (see reload.ts). */
export type ReloadableKey = {
  [K in OptionKey]: Table[K]["reload"] extends true ? K : never;
}[OptionKey];

export const optionKeys = Object.keys(optionTable) as OptionKey[];

export const optionSpec = (key: OptionKey): OptionSpec => optionTable[key];

/** The configuration file's schema: every key optional, no other key. */
export const ConfigFile = Type.Object(
  Object.fromEntries(optionKeys.map((k) => [k, Type.Optional(optionTable[k].schema)])),
  { additionalProperties: false },
);
