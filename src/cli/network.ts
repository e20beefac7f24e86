/** `hostnet network …`: create, list, inspect and remove networks. */
import { isIP } from "node:net";
import type { NetworkRequest, NetworkWire as Network, Policy, Subnet } from "../api/rest/wire.js";
import { defineCommand, group, type OptionSpecs, type Values } from "./command.js";
import { dnsOf, dnsOptions } from "./dns.js";
import { UsageError } from "./errors.js";
import { columnTable, forScripts, none, plain, shortId, type Column, type TableStyle } from "./output.js";
import { policiesOf, policyOptions } from "./policy.js";
import { withProgress } from "./progress.js";

export const networkCreateOptions = {
  type: {
    type: "string",
    arg: "TYPE",
    description:
      "Network type: nat (default); transparent, l2bridge or l2tunnel (on the LAN of --adapter); internal (host and containers only) or private (containers only); overlay (across hosts, with --vni)",
  },
  subnet: {
    type: "string",
    multiple: true,
    arg: "CIDR",
    description:
      "Subnet of the network (default: a free /16 of 172.16.0.0/12); one IPv4 and one IPv6 for dual stack",
  },
  gateway: {
    type: "string",
    multiple: true,
    arg: "IP",
    description: "Gateway for the --subnet of the same family (default: the subnet's first host address)",
  },
  mtu: { type: "string", arg: "N", description: "MTU of the network's bridge and veths" },
  ipam: {
    type: "string",
    arg: "static|dhcp",
    description: "Where endpoints' IPv4 addresses come from: hostnet (default) or the LAN's DHCP server",
  },
  adapter: {
    type: "string",
    arg: "IF",
    description:
      "Uplink NIC of a transparent, l2bridge or l2tunnel network (its addresses and routes move to its bridge)",
  },
  vni: {
    type: "string",
    arg: "N",
    description: "VXLAN network identifier of an overlay network (HNS's VSID)",
  },
  "vxlan-port": {
    type: "string",
    arg: "PORT",
    description: "UDP port of an overlay network's VXLAN (default 4789)",
  },
  "encap-overhead": {
    type: "string",
    arg: "BYTES",
    description:
      "What an overlay network's encapsulation takes from the underlay's MTU (default 50); its MTU is the underlay interface's less this, unless --mtu says otherwise",
  },
  ...dnsOptions,
  "no-dns": {
    type: "boolean",
    description:
      "No resolver on the network's gateway (on by default for nat, internal and overlay networks)",
  },
  ...policyOptions,
} as const satisfies OptionSpecs;

// The CLI takes docker-style lower case; the API spells types as HNS does. Unknown types pass through so
// that hostnetd, which knows what it supports, names them in its error.
const typeNames: Readonly<Record<string, string>> = {
  nat: "NAT",
  internal: "Internal",
  private: "Private",
  transparent: "Transparent",
  l2bridge: "L2Bridge",
  l2tunnel: "L2Tunnel",
  overlay: "Overlay",
};

type Family = 4 | 6;

function subnetFamily(cidr: string): Family {
  const [address = "", length, ...rest] = cidr.split("/");
  const family = isIP(address);
  if (family === 0 || length === undefined || !/^\d+$/.test(length) || rest.length > 0)
    throw new UsageError(`--subnet "${cidr}" is not a CIDR such as 172.20.0.0/16 or fd20::/64`);
  return family === 4 ? 4 : 6;
}

/** Pairs each --gateway with the next --subnet of its family that has none yet. */
function subnets(cidrs: readonly string[], gateways: readonly string[]): Subnet[] {
  const families = cidrs.map(subnetFamily);
  const paired: (string | undefined)[] = cidrs.map(() => undefined);
  for (const gateway of gateways) {
    const family = isIP(gateway);
    if (family === 0) throw new UsageError(`--gateway "${gateway}" is not an IP address`);
    const i = families.findIndex((f, j) => f === family && paired[j] === undefined);
    if (i < 0) throw new UsageError(`--gateway ${gateway} has no IPv${family} --subnet to go with`);
    paired[i] = gateway;
  }
  return cidrs.map((cidr, i) => {
    const gateway = paired[i];
    if (gateway === undefined) return { IpAddressPrefix: cidr };
    const DestinationPrefix = families[i] === 4 ? "0.0.0.0/0" : "::/0";
    return { IpAddressPrefix: cidr, Routes: [{ NextHop: gateway, DestinationPrefix }] };
  });
}

/** The body of POST /networks for `network create NAME …`. */
export function networkCreateRequest(
  name: string,
  values: Values<typeof networkCreateOptions>,
): NetworkRequest {
  const type = values.type ?? "nat";
  const request: NetworkRequest = { Name: name, Type: typeNames[type.toLowerCase()] ?? type };
  const cidrs = values.subnet ?? [];
  const gateways = values.gateway ?? [];
  if (cidrs.length === 0 && gateways.length > 0) throw new UsageError("--gateway needs a --subnet");
  const ipam = (values.ipam ?? "static").toLowerCase();
  if (ipam !== "static" && ipam !== "dhcp")
    throw new UsageError(`--ipam "${values.ipam ?? ""}" is not static or dhcp`);
  const ipamType = ipam === "dhcp" ? "DHCP" : "Static";
  const withIpam: NetworkRequest =
    cidrs.length === 0 && ipam === "static"
      ? request
      : { ...request, Ipams: [{ Type: ipamType, Subnets: subnets(cidrs, gateways) }] };
  const adapter: Policy[] =
    values.adapter === undefined
      ? []
      : [{ Type: "NetAdapterName", Settings: { NetworkAdapterName: values.adapter } }];
  const number = (option: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new UsageError(`--${option} "${text}" is not a positive integer`);
    return Number(text);
  };
  const vni = number("vni", values.vni);
  const port = number("vxlan-port", values["vxlan-port"]);
  const overhead = number("encap-overhead", values["encap-overhead"]);
  const overlay: Policy[] = [
    ...(vni === undefined ? [] : [{ Type: "VSID", Settings: { IsolationId: vni } }]),
    ...(port === undefined ? [] : [{ Type: "VxlanPort", Settings: { Port: port } }]),
    ...(overhead === undefined ? [] : [{ Type: "EncapOverhead", Settings: { Overhead: overhead } }]),
  ];
  const policies = [...adapter, ...overlay, ...policiesOf(values)];
  const withPolicies: NetworkRequest = {
    ...withIpam,
    ...(policies.length === 0 ? {} : { Policies: policies }),
    ...dnsOf(values),
    ...(values["no-dns"] === true ? { DnsResolver: false } : {}),
  };
  if (values.mtu === undefined) return withPolicies;
  if (!/^\d+$/.test(values.mtu)) throw new UsageError(`--mtu "${values.mtu}" is not a positive integer`);
  return { ...withPolicies, Mtu: Number(values.mtu) };
}

const networkColumns: readonly Column<Network>[] = [
  { header: "ID", cell: (n) => shortId(n.ID) },
  { header: "NAME", cell: (n) => n.Name },
  { header: "TYPE", cell: (n) => n.Type },
  {
    header: "SUBNETS",
    cell: (n) => n.Ipams.flatMap((i) => i.Subnets.map((s) => s.IpAddressPrefix)).join(","),
  },
  {
    header: "GATEWAYS",
    wide: true,
    cell: (n) =>
      n.Ipams.flatMap((i) => i.Subnets.flatMap((s) => (s.Routes ?? []).map((r) => r.NextHop))).join(",") ||
      none,
  },
  { header: "MTU", wide: true, cell: (n) => String(n.Mtu) },
  { header: "BRIDGE", cell: (n) => n.Bridge },
  { header: "POLICIES", wide: true, cell: (n) => n.Policies.map((p) => p.Type).join(",") || none },
  { header: "ORIGIN", cell: (n) => n.Origin?.Kind ?? none },
  { header: "CREATED", wide: true, cell: (n) => n.CreatedAt },
];

export function networkTable(networks: readonly Network[], style: TableStyle = plain): string {
  return columnTable(networkColumns, networks, style);
}

export const network = group({
  names: ["network"],
  help: "Manage networks",
  commands: [
    defineCommand({
      names: ["create"],
      help: "Create a network and print its ID",
      args: ["NAME"],
      options: networkCreateOptions,
      examples: [
        "hostnet network create web --subnet 172.20.0.0/16",
        "hostnet network create dual --subnet 172.21.0.0/16 --gateway 172.21.0.1 --subnet fd21::/64 --gateway fd21::1",
        "hostnet network create locked --acl action=block,dir=in,proto=tcp,lport=22 --qos-out 10MB",
      ],
      async run(ctx, { args, values }) {
        const created = await ctx.client.createNetwork(networkCreateRequest(args.NAME, values));
        ctx.show(created, () => created.ID);
      },
    }),
    defineCommand({
      names: ["ls", "list"],
      help: "List networks",
      async run(ctx) {
        const networks = await ctx.client.networks();
        ctx.show(networks, (style) => networkTable(networks, style));
      },
    }),
    defineCommand({
      names: ["inspect"],
      help: "Print a network as the API's JSON (or as --output asks)",
      args: ["NETWORK"],
      output: "json",
      async run(ctx, { args }) {
        const net = await ctx.client.network(args.NETWORK);
        ctx.show(net, (style) => networkTable([net], style));
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove a network",
      args: ["NETWORK"],
      options: {
        force: {
          type: "boolean",
          short: "f",
          description: "Also remove the network's endpoints",
        },
      },
      async run(ctx, { args, values }) {
        const force = values.force === true;
        // Only a person watching learns how many endpoints go with the network: a script asks nothing more.
        const endpoints =
          force && ctx.terminal ? (await ctx.client.endpoints({ network: args.NETWORK })).length : 0;
        const label = `removing network ${args.NETWORK}${endpoints === 0 ? "" : ` and its ${String(endpoints)} endpoints`}`;
        await withProgress(ctx, label, ctx.client.deleteNetwork(args.NETWORK, { force }));
        if (!forScripts(ctx.output)) ctx.out(args.NETWORK);
      },
    }),
  ],
});
