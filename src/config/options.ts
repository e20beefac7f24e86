/**
 * hostnetd's options, one entry each: its flag, its key in the configuration file, its schema (TypeBox), its
 * default, its help and whether SIGHUP can change it. The command line's parser, the usage, the file's schema,
 * `--check-config` and README's table of options are all made from this table, so an option is one entry.
 */
import { Type, type Static, type TSchema } from "typebox";
import { LB_AFFINITY_SECONDS } from "../dataplane/objects.js";

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
  /** What a value must be, for the error that names the option: `--etcd-lease-ttl must be …`. */
  readonly must: string;
  /** Whether SIGHUP applies a change of it; any other option needs a restart. */
  readonly reload: boolean;
}

/** Keeps each entry's own types (its schema, whether it has a default, `reload`), checking its default. */
const option = <const E extends OptionSpec>(spec: E & OptionSpec<E["schema"]>): E => spec;

const path = Type.String({ minLength: 1 });

/** The option's key in the configuration file is its key here. */
export const optionTable = {
  socket: option({
    flag: "socket",
    arg: "PATH",
    schema: path,
    default: "/run/hostnet/hostnet.sock",
    help: "the API's unix socket (mode 0660)",
    must: "a path",
    reload: false,
  }),
  stateDir: option({
    flag: "state-dir",
    arg: "DIR",
    schema: path,
    default: "/var/lib/hostnet",
    help: "where the SQLite store `hostnet.db` lives",
    must: "a path",
    reload: false,
  }),
  defaultNetwork: option({
    flag: "default-network",
    schema: Type.Boolean(),
    default: true,
    help: "create the NAT network `nat` on first start",
    must: "true or false",
    reload: false,
  }),
  dockerPlugin: option({
    flag: "docker-plugin",
    schema: Type.Boolean(),
    default: true,
    help: "serve Docker's network and IPAM drivers on `dockerPluginSocket`",
    must: "true or false",
    reload: false,
  }),
  dockerPluginSocket: option({
    flag: "docker-plugin-socket",
    arg: "PATH",
    schema: path,
    default: "/run/docker/plugins/hostnet.sock",
    help: "where Docker finds hostnet's network and IPAM drivers",
    must: "a path",
    reload: false,
  }),
  lbAffinityTimeout: option({
    flag: "lb-affinity-timeout",
    arg: "SECONDS",
    schema: Type.Integer({ minimum: 1 }),
    default: LB_AFFINITY_SECONDS,
    help: "how long a load balancer client keeps its backend after its last new connection (source-IP affinity)",
    must: "a whole number of seconds, at least 1",
    reload: false,
  }),
  logLevel: option({
    flag: "log-level",
    arg: "LEVEL",
    schema: Type.Enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    default: "info",
    env: "HOSTNET_LOG_LEVEL",
    help: "the least severe lines hostnetd logs",
    must: "fatal, error, warn, info, debug, trace or silent",
    reload: true,
  }),
  hostAddress: option({
    flag: "host-address",
    arg: "IP",
    schema: Type.Union([Type.String({ format: "ipv4" }), Type.String({ format: "ipv6" })]),
    help: "this host's underlay address, which overlay networks need ([docs/overlay.md](docs/overlay.md))",
    must: "an IP address",
    reload: false,
  }),
  etcd: option({
    flag: "etcd",
    arg: "URL[,URL...]",
    schema: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    help: "the cluster whose overlay networks span hosts; without it, overlay networks are this host's (routed)",
    must: "a list of URLs",
    reload: false,
  }),
  etcdLeaseTtl: option({
    flag: "etcd-lease-ttl",
    arg: "SECONDS",
    schema: Type.Integer({ minimum: 2 }),
    default: 10,
    help: "how long this host's endpoints stay in etcd after hostnetd stops answering it",
    must: "whole seconds, at least 2",
    reload: false,
  }),
  etcdCacert: option({
    flag: "etcd-cacert",
    arg: "FILE",
    schema: path,
    help: "the CA certificates (PEM) etcd's certificate is checked against; https:// URLs only",
    must: "a path",
    reload: false,
  }),
  etcdCert: option({
    flag: "etcd-cert",
    arg: "FILE",
    schema: path,
    help: "this host's client certificate (PEM) for etcd, with `etcdKey`",
    must: "a path",
    reload: false,
  }),
  etcdKey: option({
    flag: "etcd-key",
    arg: "FILE",
    schema: path,
    help: "the private key (PEM) of `etcdCert`",
    must: "a path",
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
