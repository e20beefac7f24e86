/**
 * What a CNI call brings: the environment (CNI_COMMAND and friends) and the plugin configuration on stdin,
 * checked with the spec's error codes (4 for the environment, 6 for undecodable input, 7 for a bad config,
 * 1 for a version hostnet does not speak), every message naming the variable or key.
 */
import { checkIfname } from "../../core/validate.js";
import { CniCode, CniError } from "./errors.js";
import type { DnsSpec } from "../../dns/settings.js";
import type { FieldValue } from "../../policies/kind.js";
import { vlanPolicy, type VlanPolicy } from "../../policies/vlan.js";
import { readResult, type Result } from "./result.js";
import { isSupported, supportedVersions } from "./versions.js";

const commands = ["ADD", "DEL", "CHECK", "STATUS", "VERSION", "GC"] as const;
type Command = (typeof commands)[number];

export interface CniEnv {
  readonly command: Command;
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS, `K=V;K2=V2`. */
  readonly args: ReadonlyMap<string, string>;
}

const required: Record<Command, readonly string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  STATUS: [],
  VERSION: [],
  GC: [],
};

export function parseEnv(env: Readonly<Record<string, string>>): CniEnv {
  const command = env["CNI_COMMAND"] ?? "";
  if (!(commands as readonly string[]).includes(command))
    throw new CniError(
      CniCode.InvalidEnvironment,
      `CNI_COMMAND "${command}" is not one of ${commands.join(", ")}`,
    );
  const missing = required[command as Command].filter((name) => (env[name] ?? "") === "");
  if (missing.length > 0)
    throw new CniError(CniCode.InvalidEnvironment, `${missing.join(", ")} must be set for ${command}`);
  const args = new Map<string, string>();
  for (const pair of (env["CNI_ARGS"] ?? "").split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: "${pair}" is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ifname = env["CNI_IFNAME"] ?? "";
  return {
    command: command as Command,
    containerId: env["CNI_CONTAINERID"] ?? "",
    netns: env["CNI_NETNS"] ?? "",
    // Checked here, before it becomes part of an endpoint's name that would be refused as that.
    ifname: ifname === "" ? ifname : checkIfname("CNI_IFNAME", ifname),
    args,
  };
}

interface PortMappingCapability {
  readonly field: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: "tcp" | "udp";
  readonly hostIP?: string;
}

export interface NetConf {
  readonly cniVersion: string;
  readonly name: string;
  /** The hostnet network: `network`, else the configuration's name. */
  readonly network: string;
  /** For creating the network on first use. */
  readonly mode: string;
  readonly subnets: readonly { readonly subnet: string; readonly gateway?: string }[];
  readonly portMappings: readonly PortMappingCapability[];
  /** runtimeConfig.bandwidth, in bits per second as the convention has it. */
  readonly ingressRate?: number;
  readonly egressRate?: number;
  readonly ips: readonly string[];
  /** The configuration's `vlan`: the endpoint's VLAN on the network's uplink (HNS's VLAN policy). */
  readonly vlan?: VlanPolicy;
  readonly mac?: string;
  /** The configuration's `dns`: the network's settings, when the plugin creates the network. */
  readonly networkDns?: DnsSpec;
  /** runtimeConfig.dns: the container's own. */
  readonly dns?: DnsSpec;
  /** The aliases capability's names for this network (runtimeConfig.aliases.NAME). */
  readonly aliases?: FieldValue<readonly string[]>;
  readonly prevResult?: Result;
  readonly validAttachments?: readonly { readonly containerID: string; readonly ifname: string }[];
}

type Json = Record<string, unknown>;

const invalid = (key: string, message: string): CniError =>
  new CniError(CniCode.InvalidConfig, `${key}: ${message}`);

function object(value: unknown, key: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(key, "must be an object");
  return value as Json;
}

function string(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw invalid(key, "must be a non-empty string");
  return value;
}

function list(value: unknown, key: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(key, "must be a list");
  return value;
}

function int(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw invalid(key, `must be an integer from ${min} to ${max}`);
  return value;
}

/** The version the call is in, as far as it can be read: for the error document when all else fails. */
export function versionOf(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as Json)["cniVersion"];
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

export function decode(stdin: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniCode.DecodeFailure, "the configuration on stdin is not JSON", String(err));
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new CniError(CniCode.DecodeFailure, "the configuration on stdin is not a JSON object");
  return parsed as Json;
}

export function checkVersion(raw: Json): string {
  const version = string(raw["cniVersion"], "cniVersion") ?? "";
  if (!isSupported(version))
    throw new CniError(
      CniCode.IncompatibleVersion,
      `cniVersion "${version}" is not supported (supported: ${supportedVersions.join(", ")})`,
    );
  return version;
}

function subnets(ipam: Json | undefined): NetConf["subnets"] {
  if (ipam === undefined) return [];
  const single = string(ipam["subnet"], "ipam.subnet");
  const gateway = string(ipam["gateway"], "ipam.gateway");
  if (single !== undefined) return [gateway === undefined ? { subnet: single } : { subnet: single, gateway }];
  // host-local's layout: a list of range sets; the first range of each set gives one subnet.
  return list(ipam["ranges"], "ipam.ranges").map((set, i) => {
    const range = object(list(set, `ipam.ranges[${i}]`)[0], `ipam.ranges[${i}][0]`) ?? {};
    const subnet = string(range["subnet"], `ipam.ranges[${i}][0].subnet`);
    if (subnet === undefined) throw invalid(`ipam.ranges[${i}][0].subnet`, "is required");
    const gw = string(range["gateway"], `ipam.ranges[${i}][0].gateway`);
    return gw === undefined ? { subnet } : { subnet, gateway: gw };
  });
}

function portMappings(value: unknown): PortMappingCapability[] {
  return list(value, "runtimeConfig.portMappings").map((m, i) => {
    const key = `runtimeConfig.portMappings[${i}]`;
    const o = object(m, key) ?? {};
    const protocol = (string(o["protocol"], `${key}.protocol`) ?? "tcp").toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp") throw invalid(`${key}.protocol`, "must be tcp or udp");
    const hostIP = string(o["hostIP"], `${key}.hostIP`);
    const base: PortMappingCapability = {
      field: key,
      hostPort: int(o["hostPort"], `${key}.hostPort`, 1, 65535),
      containerPort: int(o["containerPort"], `${key}.containerPort`, 1, 65535),
      protocol: protocol,
    };
    return hostIP === undefined ? base : { ...base, hostIP };
  });
}

export function parseNetConf(raw: Json, cniVersion: string): NetConf {
  const name = string(raw["name"], "name");
  if (name === undefined) throw invalid("name", "is required");
  const runtime = object(raw["runtimeConfig"], "runtimeConfig") ?? {};
  const bandwidth = object(runtime["bandwidth"], "runtimeConfig.bandwidth") ?? {};
  const rate = (key: string): number | undefined =>
    bandwidth[key] === undefined
      ? undefined
      : int(bandwidth[key], `runtimeConfig.bandwidth.${key}`, 8000, Number.MAX_SAFE_INTEGER);
  const ingressRate = rate("ingressRate");
  const egressRate = rate("egressRate");
  const mac = string(runtime["mac"], "runtimeConfig.mac");
  const vlan = raw["vlan"] === undefined ? undefined : vlanPolicy("vlan", raw["vlan"]);
  const dns = object(runtime["dns"], "runtimeConfig.dns");
  const networkDns = object(raw["dns"], "dns");
  const aliases = object(runtime["aliases"], "runtimeConfig.aliases")?.[name];
  const aliasesKey = `runtimeConfig.aliases.${name}`;
  const prev = object(raw["prevResult"], "prevResult");
  const valid = raw["cni.dev/valid-attachments"];
  return {
    cniVersion,
    name,
    network: string(raw["network"], "network") ?? name,
    mode: string(raw["mode"], "mode") ?? "nat",
    subnets: subnets(object(raw["ipam"], "ipam")),
    portMappings: portMappings(runtime["portMappings"]),
    ips: list(runtime["ips"], "runtimeConfig.ips").map(
      (ip, i) => string(ip, `runtimeConfig.ips[${i}]`) ?? "",
    ),
    ...(ingressRate === undefined ? {} : { ingressRate }),
    ...(egressRate === undefined ? {} : { egressRate }),
    ...(vlan === undefined ? {} : { vlan }),
    ...(mac === undefined ? {} : { mac }),
    ...(networkDns === undefined ? {} : { networkDns: dnsOf(networkDns, "dns") }),
    ...(dns === undefined ? {} : { dns: dnsOf(dns, "runtimeConfig.dns") }),
    ...(aliases === undefined ? {} : { aliases: { value: strings(aliases, aliasesKey), field: aliasesKey } }),
    ...(prev === undefined ? {} : { prevResult: readResult(prev) }),
    ...(valid === undefined ? {} : { validAttachments: attachments(valid) }),
  };
}

const strings = (v: unknown, key: string): string[] =>
  list(v, key).map((s, i) => string(s, `${key}[${i}]`) ?? "");

/** runtimeConfig.dns speaks `servers`/`searches`, a configuration's dns `nameservers`/`search`. */
function dnsOf(o: Json, key: string): DnsSpec {
  const part = (names: readonly string[]): FieldValue<string[]> | undefined => {
    const name = names.find((n) => o[n] !== undefined);
    return name === undefined
      ? undefined
      : { value: strings(o[name], `${key}.${name}`), field: `${key}.${name}` };
  };
  const servers = part(["nameservers", "servers"]);
  const search = part(["search", "searches"]);
  const options = part(["options"]);
  const domain = string(o["domain"], `${key}.domain`);
  return {
    ...(servers === undefined ? {} : { servers }),
    ...(domain === undefined ? {} : { domain: { value: domain, field: `${key}.domain` } }),
    ...(search === undefined ? {} : { search }),
    ...(options === undefined ? {} : { options }),
  };
}

function attachments(value: unknown): { containerID: string; ifname: string }[] {
  return list(value, "cni.dev/valid-attachments").map((a, i) => {
    const key = `cni.dev/valid-attachments[${i}]`;
    const o = object(a, key) ?? {};
    return {
      containerID: string(o["containerID"], `${key}.containerID`) ?? "",
      ifname: string(o["ifname"], `${key}.ifname`) ?? "",
    };
  });
}
