/**
 * What Docker's remote-driver requests carry, read into hostnet's specs: network `-o` options, IPAM data,
 * endpoint options and port maps. Pure; every error names the request field as Docker sent it.
 */
import type { NetworkSpec, PolicySpec, PortMappingSpec, SubnetSpec } from "../../core/service.js";
import { checkMtu } from "../../core/validate.js";
import { dnsLimits, type DnsSpec } from "../../dns/settings.js";
import { invalidArgument } from "../../errors.js";
import { parsePrefix } from "../../model/ip.js";
import type { Protocol } from "../../model/types.js";
import type { FieldValue } from "../../policies/kind.js";
import { parseEndpointPolicies, parseNetworkPolicies, type PolicyDocument } from "../../policies/parse.js";
import { vlanPolicy } from "../../policies/vlan.js";

/** Option keys of `docker network create` and of Docker itself, as netlabel names them. */
const GENERIC = "com.docker.network.generic";
const INTERNAL = "com.docker.network.internal";
const ENABLE_IPV6 = "com.docker.network.enable_ipv6";
const DRIVER_MTU = "com.docker.network.driver.mtu";
export const PORT_MAP = "com.docker.network.portmap";
const MAC_ADDRESS = "com.docker.network.endpoint.macaddress";
/** The container's `--dns` servers (or dockerd's `--dns`), which Docker gives every driver in CreateEndpoint. */
const DNS_SERVERS = "com.docker.network.endpoint.dnsservers";
/** `-o policies=[...]` on a network, `--driver-opt policies=[...]` on an endpoint: HNS policies as JSON. */
const POLICIES = "policies";

/** `-o mode=` values and the hostnet network type each names. */
const MODES: Readonly<Record<string, string>> = {
  nat: "NAT",
  transparent: "Transparent",
  l2bridge: "L2Bridge",
  l2tunnel: "L2Tunnel",
  private: "Private",
  internal: "Internal",
  overlay: "Overlay",
};
/** `-o adapter=IF`: the uplink NIC of the modes that take one (HNS's NetAdapterName). */
const ADAPTER = "adapter";
/** `-o vni=N`: an overlay network's VXLAN network identifier (HNS's VSID). */
const VNI = "vni";
/** `-o vlan=ID`, or Windows' `-o com.docker.network.windowsshim.vlanid=ID`: the network's VLAN policy. */
const VLAN_OPTIONS = ["vlan", "com.docker.network.windowsshim.vlanid"] as const;
/**
 * `-o dns=IP,IP`, `-o dns-search=D,D`, `-o dns-option=O,O`, `-o dns-domain=D`: the network's Dns, lists
 * comma-separated as `-o` takes one value a key; `-o dns-resolver=false`: the CLI's `--no-dns`.
 */
const DNS_OPTIONS = {
  servers: "dns",
  search: "dns-search",
  options: "dns-option",
  domain: "dns-domain",
} as const;
const DNS_RESOLVER = "dns-resolver";
const KNOWN_OPTIONS = [
  "mode",
  POLICIES,
  DRIVER_MTU,
  ADAPTER,
  VNI,
  VLAN_OPTIONS[0],
  ...Object.values(DNS_OPTIONS),
  DNS_RESOLVER,
];

export interface IpamData {
  readonly AddressSpace?: string | null;
  readonly Pool: string;
  readonly Gateway?: string | null;
}

export type Options = Readonly<Record<string, unknown>> | null | undefined;

export type DockerNetwork = Pick<
  NetworkSpec,
  "type" | "subnets" | "mtu" | "policies" | "adapter" | "overlay" | "dns" | "resolver"
>;

const GENERIC_FIELD = `Options["${GENERIC}"]`;

/** The generic map (`-o key=value`): Docker sends it as JSON of a map of strings. */
function genericOptions(options: Options): Map<string, string> {
  const generic = options?.[GENERIC];
  if (generic === undefined || generic === null) return new Map();
  if (typeof generic !== "object" || Array.isArray(generic))
    throw invalidArgument(GENERIC_FIELD, "must be a map of option names to values");
  return new Map(
    Object.entries(generic).map(([k, v]) => {
      if (typeof v !== "string") throw invalidArgument(`${GENERIC_FIELD}.${k}`, "must be a string");
      return [k, v];
    }),
  );
}

/** HNS policy documents given as a JSON list in one option. */
function policiesOption(field: string, text: string | undefined): PolicyDocument[] {
  if (text === undefined) return [];
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw invalidArgument(field, 'is not JSON; give a list such as [{"Type":"ACL","Settings":{...}}]');
  }
  if (!Array.isArray(list)) throw invalidArgument(field, "must be a JSON list of policies");
  return list.map((p: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof p !== "object" || p === null || typeof (p as { Type?: unknown }).Type !== "string")
      throw invalidArgument(at, 'must be an object {"Type": ..., "Settings": {...}}');
    return p as PolicyDocument;
  });
}

/** `-o vni=N`, or the VSID of `-o policies`; not both. */
function vniSpec(generic: Map<string, string>, overlay: NetworkSpec["overlay"]): NetworkSpec["overlay"] {
  const text = generic.get(VNI);
  if (text === undefined) return overlay;
  const field = `${GENERIC_FIELD}.${VNI}`;
  if (!/^\d+$/.test(text)) throw invalidArgument(field, `"${text}" is not a number`);
  if (overlay?.vni !== undefined)
    throw invalidArgument(field, `the network's VSID is given twice: here and at ${overlay.vni.field}`);
  return { ...overlay, vni: { value: Number(text), field } };
}

/** The network's policies with `-o vlan=ID` (or Windows' key) as its VLAN; one VLAN at most. */
function withVlan(
  generic: Map<string, string>,
  policies: NonNullable<DockerNetwork["policies"]>,
): NonNullable<DockerNetwork["policies"]> {
  const keys = VLAN_OPTIONS.filter((key) => generic.has(key));
  const [key] = keys;
  if (key === undefined) return policies;
  const field = `${GENERIC_FIELD}.${key}`;
  const others = [
    ...keys.slice(1).map((k) => `${GENERIC_FIELD}.${k}`),
    ...policies.filter((p) => p.policy.type === "VLAN").map((p) => p.field),
  ];
  if (others.length > 0)
    throw invalidArgument(field, `the network's VLAN is given twice: here and at ${others.join(", ")}`);
  const text = generic.get(key) ?? "";
  return [...policies, { field, policy: vlanPolicy(field, /^\d{1,9}$/.test(text) ? Number(text) : text) }];
}

/** `-o adapter=IF`, or the NetAdapterName of `-o policies`; not both. */
function adapterSpec(generic: Map<string, string>, adapter: NetworkSpec["adapter"]): NetworkSpec["adapter"] {
  const name = generic.get(ADAPTER);
  if (name === undefined) return adapter;
  const field = `${GENERIC_FIELD}.${ADAPTER}`;
  if (adapter !== undefined)
    throw invalidArgument(field, `the uplink NIC is given twice: here and at ${adapter.field}`);
  return { name, field };
}

/** The network's Dns from its `-o dns*` options; undefined when none is given. */
function dnsSpec(generic: Map<string, string>): DnsSpec | undefined {
  const field = (key: string): string => `${GENERIC_FIELD}.${key}`;
  const list = (key: string): FieldValue<string[]> | undefined => {
    const value = generic
      .get(key)
      ?.split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    return value === undefined ? undefined : { value, field: field(key) };
  };
  const servers = list(DNS_OPTIONS.servers);
  const search = list(DNS_OPTIONS.search);
  const options = list(DNS_OPTIONS.options);
  const domain = generic.get(DNS_OPTIONS.domain);
  if ([servers, search, options, domain].every((p) => p === undefined)) return undefined;
  return {
    ...(servers === undefined ? {} : { servers }),
    ...(search === undefined ? {} : { search }),
    ...(options === undefined ? {} : { options }),
    ...(domain === undefined ? {} : { domain: { value: domain, field: field(DNS_OPTIONS.domain) } }),
  };
}

/** `-o dns-resolver=true|false`. */
function resolverSpec(generic: Map<string, string>): NetworkSpec["resolver"] {
  const text = generic.get(DNS_RESOLVER);
  if (text === undefined) return undefined;
  const field = `${GENERIC_FIELD}.${DNS_RESOLVER}`;
  if (text !== "true" && text !== "false") throw invalidArgument(field, `"${text}" is not true or false`);
  return { value: text === "true", field };
}

function subnetSpecs(data: readonly IpamData[] | null | undefined, field: string): SubnetSpec[] {
  const list = data ?? [];
  if (list.length > 1)
    throw invalidArgument(`${field}[1]`, "a hostnet network has at most one subnet of each IP family");
  return list.map((d, i) => {
    const gateway = d.Gateway ?? "";
    return {
      prefix: d.Pool,
      prefixField: `${field}[${i}].Pool`,
      ...(gateway === "" ? {} : { gateway: gateway.split("/")[0] ?? "" }),
      gatewayField: `${field}[${i}].Gateway`,
    };
  });
}

/** The hostnet network a CreateNetwork request asks for. */
export function dockerNetwork(
  options: Options,
  ipv4: readonly IpamData[] | null | undefined,
  ipv6: readonly IpamData[] | null | undefined,
): DockerNetwork {
  const generic = genericOptions(options);
  // --internal: Docker's word for a network with no way out, hostnet's Internal unless a mode says more.
  const mode = generic.get("mode") ?? (options?.[INTERNAL] === true ? "internal" : "nat");
  const type = MODES[mode.toLowerCase()];
  if (type === undefined)
    throw invalidArgument(
      `${GENERIC_FIELD}.mode`,
      `"${mode}" is not a hostnet mode (${Object.keys(MODES).join(", ")})`,
    );
  for (const key of generic.keys())
    if (!KNOWN_OPTIONS.includes(key) && !key.startsWith("com.docker."))
      throw invalidArgument(
        `${GENERIC_FIELD}.${key}`,
        `is not a hostnet option (${KNOWN_OPTIONS.join(", ")})`,
      );
  const { policies, adapter, overlay } = parseNetworkPolicies(
    policiesOption(`${GENERIC_FIELD}.${POLICIES}`, generic.get(POLICIES)),
    `${GENERIC_FIELD}.${POLICIES}`,
  );
  const uplink = adapterSpec(generic, adapter);
  const vxlan = vniSpec(generic, overlay);
  const mtuText = generic.get(DRIVER_MTU);
  const mtuField = `${GENERIC_FIELD}.${DRIVER_MTU}`;
  if (mtuText !== undefined && !/^\d+$/.test(mtuText))
    throw invalidArgument(mtuField, `"${mtuText}" is not a number`);
  const v6 = options?.[ENABLE_IPV6] === true ? subnetSpecs(ipv6, "IPv6Data") : [];
  const dns = dnsSpec(generic);
  const resolver = resolverSpec(generic);
  return {
    type,
    subnets: [...subnetSpecs(ipv4, "IPv4Data"), ...v6],
    ...(mtuText === undefined ? {} : { mtu: checkMtu(mtuField, Number(mtuText)) }),
    policies: withVlan(generic, policies),
    ...(uplink === undefined ? {} : { adapter: uplink }),
    ...(vxlan === undefined ? {} : { overlay: vxlan }),
    ...(dns === undefined ? {} : { dns }),
    ...(resolver === undefined ? {} : { resolver }),
  };
}

/** `10.1.0.5/24` → `10.1.0.5`: Docker hands out addresses with their prefix length. */
export function addressOf(field: string, cidr: string): string {
  const [address, length] = cidr.split("/");
  if (address === undefined || length === undefined) throw invalidArgument(field, `"${cidr}" is not a CIDR`);
  parsePrefix(field, `${address}/${length}`);
  return address;
}

/**
 * The MAC Docker asks for: in Interface.MacAddress, or in the endpoint options, where Go's JSON encodes a
 * net.HardwareAddr as base64.
 */
export function requestedMac(iface: string | null | undefined, options: Options): string | undefined {
  if (iface !== undefined && iface !== null && iface !== "") return iface;
  const opt = options?.[MAC_ADDRESS];
  if (typeof opt !== "string" || opt === "") return undefined;
  if (opt.includes(":")) return opt;
  const bytes = Buffer.from(opt, "base64");
  if (bytes.length !== 6) throw invalidArgument(`Options["${MAC_ADDRESS}"]`, `"${opt}" is not a MAC address`);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * The container's `--dns` servers as the endpoint's own ServerList. Docker writes its containers' resolv.conf
 * itself (its resolver at 127.0.0.11, forwarding to these) and tells drivers nothing of `--dns-search` or
 * `--dns-option`. It accepts more servers than resolv.conf readers take, and its resolver asks only the first
 * three: so do these, rather than refuse a container Docker would run.
 */
export function endpointDns(options: Options): DnsSpec | undefined {
  const servers = options?.[DNS_SERVERS];
  const field = `Options["${DNS_SERVERS}"]`;
  if (servers === undefined || servers === null) return undefined;
  if (!Array.isArray(servers) || !servers.every((s): s is string => typeof s === "string"))
    throw invalidArgument(field, "must be a list of addresses");
  return { servers: { value: servers.slice(0, dnsLimits.servers), field } };
}

/** `--driver-opt policies=[...]`: the endpoint's own policies. */
export function endpointPolicies(options: Options): PolicySpec[] {
  const text = options?.[POLICIES];
  const field = `Options.${POLICIES}`;
  if (text !== undefined && typeof text !== "string")
    throw invalidArgument(field, "must be a string holding a JSON list");
  const { policies, portMappings, providerAddress } = parseEndpointPolicies(
    policiesOption(field, text),
    field,
  );
  if (providerAddress !== undefined)
    throw invalidArgument(
      providerAddress.field.replace(/\.Settings\.ProviderAddress$/, ".Type"),
      "a container's endpoint is on this host: ProviderAddress is for a remote endpoint",
    );
  // Docker replaces an endpoint's port mappings with its own at every ProgramExternalConnectivity.
  const [mapping] = portMappings;
  if (mapping !== undefined)
    throw invalidArgument(
      mapping.field.replace(/\.Settings$/, ".Type"),
      "Docker publishes ports itself: give them to docker run -p",
    );
  return policies;
}

/** One entry of Docker's port map (libnetwork types.PortBinding, JSON-decoded). */
export interface PortBinding {
  readonly field: string;
  readonly protocol: Protocol;
  /** Undefined for every host address. */
  readonly hostIp?: string;
  /** The host ports any of which will do: one, a range (`-p 8000-8010:80`), or 0 for any free one. */
  readonly hostPorts: { readonly first: number; readonly last: number } | "any";
  readonly internalPort: number;
}

const PROTOCOLS: Readonly<Record<number, Protocol>> = { 6: "tcp", 17: "udp" };
const integer = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isInteger(v) ? v : undefined;

/** Docker's port map as hostnet bindings; identical entries (Docker may list one per family) appear once. */
export function portBindings(options: Options): PortBinding[] {
  const list = options?.[PORT_MAP];
  if (list === undefined || list === null) return [];
  const base = `Options["${PORT_MAP}"]`;
  if (!Array.isArray(list)) throw invalidArgument(base, "must be a list of port bindings");
  const seen = new Set<string>();
  const out: PortBinding[] = [];
  list.forEach((entry: unknown, i) => {
    const field = `${base}[${i}]`;
    if (typeof entry !== "object" || entry === null) throw invalidArgument(field, "must be an object");
    const e = entry as Record<string, unknown>;
    const proto = integer(e["Proto"]);
    const protocol = proto === undefined ? undefined : PROTOCOLS[proto];
    if (protocol === undefined)
      throw invalidArgument(`${field}.Proto`, `protocol ${String(e["Proto"])} is not supported (tcp, udp)`);
    const port = integer(e["Port"]);
    if (port === undefined || port < 1 || port > 65535)
      throw invalidArgument(`${field}.Port`, `${String(e["Port"])} is not a port number`);
    const first = integer(e["HostPort"]) ?? 0;
    const last = Math.max(first, integer(e["HostPortEnd"]) ?? 0);
    const hostIpText = typeof e["HostIP"] === "string" ? e["HostIP"] : "";
    const hostIp = ["", "0.0.0.0", "::"].includes(hostIpText) ? undefined : hostIpText;
    const hostPorts = first === 0 ? ("any" as const) : { first, last };
    const key = JSON.stringify([protocol, hostIp, hostPorts, port]);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ field, protocol, ...(hostIp === undefined ? {} : { hostIp }), hostPorts, internalPort: port });
  });
  return out;
}

/** Where Docker's own bridge driver takes ports for `-p 80` from. */
const EPHEMERAL_PORTS = { first: 49153, last: 65535 } as const;

/**
 * Picks a host port for each binding from its allowed ones, skipping ports `taken` says are in use and
 * ports picked for earlier bindings of the same protocol.
 */
export function choosePorts(
  bindings: readonly PortBinding[],
  taken: (protocol: Protocol, port: number, hostIp: string | undefined) => boolean,
): PortMappingSpec[] {
  const chosen: PortMappingSpec[] = [];
  for (const b of bindings) {
    const { first, last } = b.hostPorts === "any" ? EPHEMERAL_PORTS : b.hostPorts;
    let port = first;
    while (
      port < last &&
      (taken(b.protocol, port, b.hostIp) ||
        chosen.some((c) => c.protocol === b.protocol && c.hostPort.value === port))
    )
      port++;
    chosen.push({
      field: b.field,
      protocol: b.protocol,
      ...(b.hostIp === undefined ? {} : { hostIp: { value: b.hostIp, field: `${b.field}.HostIP` } }),
      hostPort: { value: port, field: `${b.field}.HostPort` },
      internalPort: { value: b.internalPort, field: `${b.field}.Port` },
    });
  }
  return chosen;
}
