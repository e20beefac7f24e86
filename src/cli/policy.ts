/**
 * `hostnet policy …`: the ACL, QoS and VLAN policies of an endpoint, or with --network those every endpoint of a
 * network gets and a routed overlay network's remote subnets, listed by number and changed live.
 */
import { isIP } from "node:net";
import type {
  CountedPolicy,
  EndpointWire as Endpoint,
  NetworkWire as Network,
  Policy,
  PolicyRequest,
} from "../api/rest/wire.js";
import type { endpointSettingKinds, networkSettingKinds } from "../policies/index.js";
import type { QosSettings } from "../policies/qos.js";
import type { RemoteSubnetRouteSettings } from "../policies/remote-subnet-route.js";
import { HostnetError } from "../errors.js";
import { aclSyntax, parseAcl, protocolNumbers } from "./acl.js";
import { defineCommand, group, type Context, type OptionSpecs, type Values } from "./command.js";
import { UsageError } from "./errors.js";
import { columnTable, none, plain, type Column, type TableStyle } from "./output.js";
import { formatRate, parseRate, rateSyntax } from "./rate.js";

/** The flags that write policies, shared by `network create`, `endpoint create`, `policy add` and `policy set`. */
export const policyOptions = {
  acl: {
    type: "string",
    multiple: true,
    arg: "SPEC",
    description:
      `ACL rule ${aclSyntax}; + joins values (proto=tcp+udp). Lowest prio (default 100) first, the first ` +
      "match decides; once a direction has a rule, what no rule allows in that direction is blocked",
  },
  "qos-out": {
    type: "string",
    arg: "RATE",
    description: `Limit the traffic the endpoint sends, in ${rateSyntax}`,
  },
  "qos-in": {
    type: "string",
    arg: "RATE",
    description: `Limit the traffic the endpoint receives, in ${rateSyntax}`,
  },
  vlan: {
    type: "string",
    arg: "ID",
    description:
      "Put the endpoints on VLAN ID (1 to 4094) of the uplink's LAN, tagged there and untagged in the " +
      "container (transparent, l2bridge and l2tunnel networks); an endpoint's own overrides its network's",
  },
} as const satisfies OptionSpecs;

/** --vlan's VLAN policy; the range is hostnetd's to check. */
function vlanPolicies(id: string | undefined): Policy[] {
  if (id === undefined) return [];
  if (!/^\d{1,9}$/.test(id)) throw new UsageError(`--vlan "${id}" is not a VLAN ID (1 to 4094)`);
  return [{ Type: "VLAN", Settings: { IsolationId: Number(id) } }];
}

/**
 * The policies --acl, --qos-out, --qos-in and --vlan give: the ACLs in order, then one QOS for both rates,
 * then the VLAN.
 */
export function policiesOf(values: Values<typeof policyOptions>): Policy[] {
  const acls = (values.acl ?? []).map((spec) => ({ Type: "ACL", Settings: parseAcl(spec) }));
  const vlan = vlanPolicies(values.vlan);
  const out = values["qos-out"];
  const incoming = values["qos-in"];
  if (out === undefined && incoming === undefined) return [...acls, ...vlan];
  // Outgoing first, as hostnetd shows it, so that the settings read back unchanged.
  const settings: QosSettings = {
    ...(out === undefined ? {} : { MaximumOutgoingBandwidthInBytes: parseRate("--qos-out", out) }),
    ...(incoming === undefined ? {} : { MaximumIncomingBandwidthInBytes: parseRate("--qos-in", incoming) }),
  };
  return [...acls, { Type: "QOS", Settings: settings }, ...vlan];
}

/**
 * The types of the documents that are an endpoint's or a network's settings, not policies of its: a type
 * the registry adds or drops is a compile error here until this follows.
 */
const endpointSettingTypes = Object.keys({ PortMapping: true, ProviderAddress: true } satisfies Record<
  keyof typeof endpointSettingKinds,
  true
>);
const networkSettingTypes = Object.keys({
  NetAdapterName: true,
  VSID: true,
  VxlanPort: true,
  EncapOverhead: true,
} satisfies Record<keyof typeof networkSettingKinds, true>);

/**
 * The policies `policy ls` shows and `--index` counts: all but the port mappings, which `--publish` sets
 * and which the policy requests cannot change.
 */
export const listedPolicies = (endpoint: Endpoint): Policy[] =>
  endpoint.Policies.filter((p) => !endpointSettingTypes.includes(p.Type));

/**
 * The policies `policy ls --network` shows and `--index` counts: all but those the network was created with
 * (its uplink, its VXLAN), which the policy requests cannot change.
 */
export const listedNetworkPolicies = (network: Network): Policy[] =>
  network.Policies.filter((p) => !networkSettingTypes.includes(p.Type));

/** Makes a policy command work on a network's policies instead of an endpoint's. */
const targetOption = {
  network: {
    type: "boolean",
    description: "ENDPOINT names a network: the policies every endpoint on it gets besides its own",
  },
} as const satisfies OptionSpecs;

type Target = Pick<Values<typeof targetOption>, "network">;

/** A routed overlay's RemoteSubnetRoute, which only networks have. */
const remoteSubnetOptions = {
  "remote-subnet": {
    type: "string",
    arg: "CIDR",
    description:
      "With --network, on an Overlay network of a hostnetd without --etcd: route this other host's subnet through the VXLAN (RemoteSubnetRoute)",
  },
  provider: {
    type: "string",
    arg: "IP",
    description: "The underlay address of the --remote-subnet's host, where its VXLAN packets go",
  },
  "router-mac": {
    type: "string",
    arg: "MAC",
    description:
      "The --remote-subnet's router, the DrMacAddress of the network on that host (default: the one hostnet gives the --provider's bridge)",
  },
} as const satisfies OptionSpecs;

const forNetworks = (option: string, target: Target): void => {
  if (target.network !== true)
    throw new UsageError(`${option} is a network's policy: give --network and the overlay network`);
};

/**
 * --remote-subnet as hostnetd shows it: the network address, since hostnetd stores the subnet so and
 * `policy rm --remote-subnet` must find it.
 */
function remoteSubnet(text: string): string {
  const [address = "", length = "", ...rest] = text.split("/");
  if (isIP(address) !== 4 || !/^\d{1,2}$/.test(length) || Number(length) > 32 || rest.length > 0)
    throw new UsageError(
      `--remote-subnet "${text}" is not an IPv4 prefix such as 10.244.2.0/24 (overlay subnets are IPv4)`,
    );
  const value = address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const network = (value & (2 ** 32 - 2 ** (32 - Number(length)))) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join(".")}/${length}`;
}

/** The settings --remote-subnet, --provider and --router-mac give, but the IsolationId; none without them. */
function remoteSubnetRoute(
  values: Values<typeof remoteSubnetOptions> & Target,
): Omit<RemoteSubnetRouteSettings, "IsolationId"> | undefined {
  const prefix = values["remote-subnet"];
  const { provider } = values;
  const mac = values["router-mac"];
  if (prefix === undefined) {
    if (provider !== undefined || mac !== undefined)
      throw new UsageError("--provider and --router-mac go with --remote-subnet");
    return undefined;
  }
  forNetworks("--remote-subnet", values);
  if (provider === undefined) throw new UsageError("--remote-subnet needs --provider, its host's address");
  if (isIP(provider) === 0) throw new UsageError(`--provider "${provider}" is not an IP address`);
  if (mac !== undefined && !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(mac))
    throw new UsageError(`--router-mac "${mac}" is not a MAC address such as 0a:68:c0:a8:4d:02`);
  return {
    DestinationPrefix: remoteSubnet(prefix),
    ProviderAddress: provider,
    ...(mac === undefined ? {} : { DistributedRouterMacAddress: mac }),
  };
}

/** A routed overlay's VXLAN identifier, which every RemoteSubnetRoute of it must repeat. */
function isolationId(network: string, policies: readonly Policy[]): number {
  const id = field(policies.find((p) => p.Type === "VSID")?.Settings, "IsolationId");
  if (typeof id !== "number")
    throw new HostnetError(
      "InvalidArgument",
      `--remote-subnet: network "${network}" has no VSID: remote subnets are routed on Overlay networks`,
    );
  return id;
}

export const policyAddOptions = { ...policyOptions, ...remoteSubnetOptions, ...targetOption } as const;

/** `policy add`, checked before anything is sent, then turned into a request once the network is known. */
export interface Addition {
  /** A RemoteSubnetRoute repeats its network's VSID, so the network must be read first. */
  readonly readsNetwork: boolean;
  /**
   * @param network the network's name as given, for messages
   * @param policies its policies as hostnetd shows them; empty when not read
   */
  request(network: string, policies: readonly Policy[]): PolicyRequest;
}

export function policyAddition(values: Values<typeof policyAddOptions>): Addition {
  const policies = policiesOf(values);
  const route = remoteSubnetRoute(values);
  if (policies.length === 0 && route === undefined)
    throw new UsageError(
      "nothing to add: give --acl, --qos-out, --qos-in, --vlan or, with --network, --remote-subnet",
    );
  return {
    readsNetwork: route !== undefined,
    request(network, read) {
      if (route === undefined) return { RequestType: "Add", Policies: policies };
      const { DestinationPrefix, ...rest } = route;
      const settings = { DestinationPrefix, IsolationId: isolationId(network, read), ...rest };
      return {
        RequestType: "Add",
        Policies: [...policies, { Type: "RemoteSubnetRoute", Settings: settings }],
      };
    },
  };
}

/** The body for `policy set`, which replaces every policy but the port mappings. */
export function policySetRequest(values: Values<typeof policyOptions>): PolicyRequest {
  const policies = policiesOf(values);
  // An empty Update clears every rule, Block rules included: too much for a forgotten flag to do.
  if (policies.length === 0)
    throw new UsageError(
      "nothing to set: give --acl, --qos-out, --qos-in or --vlan; 'hostnet policy rm ENDPOINT --all' removes every policy",
    );
  return { RequestType: "Update", Policies: policies };
}

export const policyRemoveOptions = {
  index: {
    type: "string",
    multiple: true,
    arg: "N",
    description: "The N-th policy as 'hostnet policy ls' numbers them",
  },
  acl: {
    ...policyOptions.acl,
    description: "ACL rule, written as it was added (hostnetd compares the rules, not the text)",
  },
  qos: { type: "boolean", description: "The QoS policy, whatever its rates" },
  "remote-subnet": {
    ...remoteSubnetOptions["remote-subnet"],
    description: "With --network, the RemoteSubnetRoute to this subnet, whatever its provider",
  },
  "qos-out": { ...policyOptions["qos-out"], description: "The QoS policy with exactly these rates" },
  "qos-in": { ...policyOptions["qos-in"], description: "The QoS policy with exactly these rates" },
  all: { type: "boolean", description: "Every policy; port mappings stay" },
} as const satisfies OptionSpecs;

/** `policy rm`, checked before anything is sent, then turned into a request once the policies are known. */
export interface Removal {
  /**
   * --index, --qos and --remote-subnet name policies by what the endpoint or network has, so its policies
   * must be read first.
   */
  readonly readsPolicies: boolean;
  /**
   * @param target what the policies are of, for messages: `endpoint "web1"`
   * @param listed its policies as listedPolicies or listedNetworkPolicies give them; empty when not read
   */
  request(target: string, listed: readonly Policy[]): PolicyRequest;
}

function parseIndex(text: string): number {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : 0;
  if (n < 1)
    throw new UsageError(`--index "${text}" is not a number from 1 up, as 'hostnet policy ls' shows`);
  return n;
}

const policyCount = (n: number): string => (n === 0 ? "no policies" : n === 1 ? "1 policy" : `${n} policies`);

export function policyRemoval(values: Values<typeof policyRemoveOptions> & Target): Removal {
  const given = policiesOf(values);
  const indexes = [...new Set((values.index ?? []).map(parseIndex))];
  const qos = values.qos === true;
  const written = values["remote-subnet"];
  if (written !== undefined) forNetworks("--remote-subnet", values);
  const subnet = written === undefined ? undefined : remoteSubnet(written);
  if (qos && given.some((p) => p.Type === "QOS"))
    throw new UsageError(
      "--qos takes the QoS policy out whatever its rates: leave out --qos-out and --qos-in",
    );
  if (values.all === true) {
    if (qos || indexes.length > 0 || given.length > 0 || subnet !== undefined)
      throw new UsageError("--all removes every policy: give it alone");
    return { readsPolicies: false, request: () => ({ RequestType: "Update", Policies: [] }) };
  }
  if (!qos && indexes.length === 0 && given.length === 0 && subnet === undefined)
    throw new UsageError(
      "nothing to remove: give --index, --acl, --qos, --qos-out, --qos-in, --all or, with --network, --remote-subnet",
    );
  return {
    readsPolicies: qos || indexes.length > 0 || subnet !== undefined,
    request(target, listed) {
      // The policies go back exactly as hostnetd showed them, not as positions: if the endpoint changed
      // since it was read, Remove fails on a policy that is gone instead of taking out its successor.
      const byIndex = indexes.map((n) => {
        const policy = listed[n - 1];
        if (policy === undefined)
          throw new HostnetError("NotFound", `--index ${n}: ${target} has ${policyCount(listed.length)}`);
        return policy;
      });
      const theQos = listed.find((p) => p.Type === "QOS");
      if (qos && theQos === undefined)
        throw new HostnetError("NotFound", `--qos: ${target} has no QoS policy`);
      const route = listed.find(
        (p) => p.Type === "RemoteSubnetRoute" && setting(p.Settings, "DestinationPrefix") === subnet,
      );
      if (subnet !== undefined && route === undefined)
        throw new HostnetError("NotFound", `--remote-subnet: ${target} has no route to ${subnet}`);
      return {
        RequestType: "Remove",
        Policies: [
          ...given,
          ...(qos && theQos !== undefined ? [theQos] : []),
          ...(route === undefined ? [] : [route]),
          ...byIndex,
        ],
      };
    },
  };
}

const any = "any";
const protocolNames = new Map(Object.entries(protocolNumbers).map(([name, n]) => [String(n), name]));

/** The API types Settings as unknown: a table shows what it finds. */
function field(settings: unknown, key: string): unknown {
  return typeof settings === "object" && settings !== null
    ? (settings as Record<string, unknown>)[key]
    : undefined;
}

/** A string or number setting as text; "" when absent. */
function setting(settings: unknown, key: string): string {
  const value = field(settings, key);
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

const qosLimits = [
  ["Out", "MaximumOutgoingBandwidthInBytes"],
  ["In", "MaximumIncomingBandwidthInBytes"],
] as const;

/** DIRECTION, ACTION, PRIORITY, PROTOCOLS, LOCAL, REMOTE and PORTS/RATE of one policy. */
function columns(p: Policy): readonly string[] {
  const s = p.Settings;
  switch (p.Type) {
    case "ACL": {
      const protocols = setting(s, "Protocols")
        .split(",")
        .filter((n) => n !== "")
        .map((n) => protocolNames.get(n.trim()) ?? n.trim());
      const local = setting(s, "LocalPorts");
      const remote = setting(s, "RemotePorts");
      const ports = [local === "" ? "" : `local ${local}`, remote === "" ? "" : `remote ${remote}`];
      return [
        setting(s, "Direction") || none,
        setting(s, "Action") || none,
        setting(s, "Priority") || none,
        protocols.join(",") || any,
        setting(s, "LocalAddresses") || any,
        setting(s, "RemoteAddresses") || any,
        ports.filter((t) => t !== "").join(" ") || any,
      ];
    }
    case "QOS": {
      const limits = qosLimits.flatMap(([direction, key]) => {
        const bytes = field(s, key);
        return typeof bytes === "number"
          ? [{ direction, text: `${direction.toLowerCase()} ${formatRate(bytes)}` }]
          : [];
      });
      const rates = limits.map((l) => l.text).join(" ");
      return [limits.map((l) => l.direction).join(",") || none, none, none, none, none, none, rates || none];
    }
    case "SDNRoute":
      return [
        "Out",
        none,
        none,
        none,
        none,
        `${setting(s, "DestinationPrefix")} via ${setting(s, "NextHop")}`,
        none,
      ];
    case "OutBoundNAT": {
      const exceptions = field(s, "Exceptions");
      const remote =
        Array.isArray(exceptions) && exceptions.length > 0
          ? `except ${exceptions.map(String).join(",")}`
          : any;
      // Without a VirtualIP the endpoint's traffic leaves masqueraded behind the host's address.
      return ["Out", none, none, none, setting(s, "VirtualIP") || "masquerade", remote, none];
    }
    case "RemoteSubnetRoute":
      return [
        "Out",
        none,
        none,
        none,
        none,
        `${setting(s, "DestinationPrefix")} via ${setting(s, "DistributedRouterMacAddress")} at ${setting(s, "ProviderAddress")}`,
        none,
      ];
    default:
      return [none, none, none, none, none, none, none];
  }
}

interface PolicyRow {
  readonly index: number;
  readonly policy: CountedPolicy;
  readonly summary: readonly string[];
}

const summaryHeaders = ["DIRECTION", "ACTION", "PRIORITY", "PROTOCOLS", "LOCAL", "REMOTE", "PORTS/RATE"];

const policyColumns: readonly Column<PolicyRow>[] = [
  { header: "INDEX", cell: (r) => String(r.index) },
  { header: "TYPE", cell: (r) => r.policy.Type },
  ...summaryHeaders.map((header, i): Column<PolicyRow> => ({ header, cell: (r) => r.summary[i] ?? none })),
  {
    header: "PACKETS",
    cell: (r) => (r.policy.Counters === undefined ? none : String(r.policy.Counters.Packets)),
  },
  {
    header: "BYTES",
    cell: (r) => (r.policy.Counters === undefined ? none : String(r.policy.Counters.Bytes)),
  },
  { header: "SETTINGS", wide: true, cell: (r) => JSON.stringify(r.policy.Settings) },
];

/** Numbered from 1, the numbers `policy rm --index` takes. */
export function policyTable(policies: readonly CountedPolicy[], style: TableStyle = plain): string {
  const rows = policies.map((policy, i) => ({ index: i + 1, policy, summary: columns(policy) }));
  return columnTable(policyColumns, rows, style);
}

const targetName = (target: Target, ref: string): string =>
  `${target.network === true ? "network" : "endpoint"} "${ref}"`;

async function modify(ctx: Context, target: Target, ref: string, request: PolicyRequest): Promise<void> {
  const changed =
    target.network === true
      ? await ctx.client.modifyNetworkPolicies(ref, request)
      : await ctx.client.modifyPolicies(ref, request);
  ctx.show(changed);
}

export const policy = group({
  names: ["policy"],
  help: "Manage the ACL and QoS policies of an endpoint or, with --network, of a network, and an overlay network's remote subnets (port mappings are endpoint create's --publish)",
  commands: [
    defineCommand({
      names: ["add"],
      help: "Add policies to an endpoint, or with --network to a network",
      args: ["ENDPOINT"],
      options: policyAddOptions,
      examples: [
        "hostnet policy add web1 --acl action=allow,dir=in,proto=tcp,lport=80+443",
        "hostnet policy add web1 --qos-out 8Mbit --qos-in 1MB",
        "hostnet policy add --network nat --acl action=block,dir=out,raddr=169.254.169.254",
        "hostnet policy add --network vxlan0 --remote-subnet 10.244.2.0/24 --provider 192.168.77.2",
      ],
      async run(ctx, { args, values }) {
        const addition = policyAddition(values);
        const read = addition.readsNetwork ? (await ctx.client.network(args.ENDPOINT)).Policies : [];
        await modify(ctx, values, args.ENDPOINT, addition.request(args.ENDPOINT, read));
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove policies from an endpoint: by their number in 'policy ls', or as they were added",
      args: ["ENDPOINT"],
      options: { ...policyRemoveOptions, ...targetOption },
      examples: [
        "hostnet policy rm web1 --index 2",
        "hostnet policy rm web1 --acl action=allow,dir=in,proto=tcp,lport=80+443 --qos",
        "hostnet policy rm --network nat --index 1",
        "hostnet policy rm --network vxlan0 --remote-subnet 10.244.2.0/24",
      ],
      async run(ctx, { args, values }) {
        const removal = policyRemoval(values);
        const listed = !removal.readsPolicies
          ? []
          : values.network === true
            ? listedNetworkPolicies(await ctx.client.network(args.ENDPOINT))
            : listedPolicies(await ctx.client.endpoint(args.ENDPOINT));
        await modify(ctx, values, args.ENDPOINT, removal.request(targetName(values, args.ENDPOINT), listed));
      },
    }),
    defineCommand({
      names: ["set"],
      help: "Replace all policies of an endpoint (but its port mappings) or of a network with the given ones",
      args: ["ENDPOINT"],
      options: { ...policyOptions, ...targetOption },
      examples: [
        "hostnet policy set web1 --acl action=allow,dir=in,proto=tcp,lport=22,raddr=10.0.0.0/8 --qos-out 1MB",
      ],
      async run(ctx, { args, values }) {
        await modify(ctx, values, args.ENDPOINT, policySetRequest(values));
      },
    }),
    defineCommand({
      names: ["ls", "list"],
      help: "List an endpoint's policies, numbered for 'policy rm --index', with ACL counters",
      args: ["ENDPOINT"],
      options: targetOption,
      examples: ["hostnet policy ls web1", "hostnet policy ls --network nat"],
      async run(ctx, { args, values }) {
        const listed: readonly CountedPolicy[] =
          values.network === true
            ? listedNetworkPolicies(await ctx.client.network(args.ENDPOINT))
            : await ctx.client.policies(args.ENDPOINT);
        ctx.show(listed, (style) => policyTable(listed, style));
      },
    }),
  ],
});
