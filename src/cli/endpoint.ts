/** `hostnet endpoint …`: endpoints (a veth on a network, with addresses and published ports). */
import type {
  AttachRequest,
  EndpointRequest,
  EndpointStats,
  EndpointWire as Endpoint,
  NamespaceWire as Namespace,
  NetworkWire as Network,
} from "../api/rest/wire.js";
import { defineCommand, group, type Context, type OptionSpecs, type Values } from "./command.js";
import { UsageError } from "./errors.js";
import { columnTable, forScripts, none, plain, shortId, type Column, type TableStyle } from "./output.js";
import { dnsOf, dnsOptions } from "./dns.js";
import { policiesOf, policyOptions } from "./policy.js";
import { formatPortMapping, parsePublish, publishSyntax } from "./publish.js";

const attachOptions = {
  namespace: { type: "string", arg: "NS", description: "Namespace (ID or name) to attach to" },
  ifname: { type: "string", arg: "IF", description: "Interface name inside the namespace (default eth0)" },
} as const satisfies OptionSpecs;

export const endpointCreateOptions = {
  network: { type: "string", arg: "NET", description: "Network (ID or name) to join; required" },
  ip: {
    type: "string",
    multiple: true,
    arg: "IP",
    description: "Address to take instead of the next free one; one per family",
  },
  mac: {
    type: "string",
    arg: "MAC",
    description: "MAC address of the interface (default: random; on Overlay networks, from the address)",
  },
  ...attachOptions,
  publish: {
    type: "string",
    short: "p",
    multiple: true,
    arg: "MAPPING",
    description: `Publish a port on the host, as docker -p does: ${publishSyntax}`,
  },
  alias: {
    type: "string",
    multiple: true,
    arg: "NAME",
    description: "Another name the network's resolver answers for the endpoint",
  },
  "gw-priority": {
    type: "string",
    arg: "N",
    description:
      "Of a namespace's endpoints, the one of highest priority (-100 to 100, default 0) holds its default route",
  },
  ...dnsOptions,
  ...policyOptions,
  remote: {
    type: "boolean",
    description:
      "An endpoint on another host of a routed overlay (HNS Flags 1), at an --ip of a remote subnet: a load balancer backend",
  },
  "provider-address": {
    type: "string",
    arg: "IP",
    description: "With --remote: the host it is on (default: the one its remote subnet is routed to)",
  },
} as const satisfies OptionSpecs;

/** The body of POST /endpoints for `endpoint create NAME …`. */
export function endpointCreateRequest(
  name: string,
  values: Values<typeof endpointCreateOptions>,
): EndpointRequest {
  if (values.network === undefined) throw new UsageError("missing required option --network");
  if (values.ifname !== undefined && values.namespace === undefined)
    throw new UsageError("--ifname needs --namespace");
  const provider = values["provider-address"];
  if (provider !== undefined && values.remote !== true)
    throw new UsageError("--provider-address needs --remote");
  const ips = values.ip ?? [];
  const priority = values["gw-priority"];
  if (priority !== undefined && !/^-?\d+$/.test(priority))
    throw new UsageError(`--gw-priority "${priority}" is not an integer`);
  return {
    Name: name,
    HostComputeNetwork: values.network,
    ...(values.namespace === undefined ? {} : { HostComputeNamespace: values.namespace }),
    ...(values.ifname === undefined ? {} : { InterfaceName: values.ifname }),
    ...(ips.length === 0 ? {} : { IpConfigurations: ips.map((IpAddress) => ({ IpAddress })) }),
    ...(values.mac === undefined ? {} : { MacAddress: values.mac }),
    ...(values.alias === undefined ? {} : { Aliases: values.alias }),
    ...(priority === undefined ? {} : { GwPriority: Number(priority) }),
    ...dnsOf(values),
    ...(values.remote === true ? { Flags: 1 } : {}),
    Policies: [
      ...(values.publish ?? []).map((p) => ({ Type: "PortMapping", Settings: parsePublish(p) })),
      ...policiesOf(values),
      ...(provider === undefined
        ? []
        : [{ Type: "ProviderAddress", Settings: { ProviderAddress: provider } }]),
    ],
  };
}

/** The body of POST /endpoints/NAME/attach for `endpoint attach NAME …`. */
export function endpointAttachRequest(values: Values<typeof attachOptions>): AttachRequest {
  if (values.namespace === undefined) throw new UsageError("missing required option --namespace");
  const request = { HostComputeNamespace: values.namespace };
  return values.ifname === undefined ? request : { ...request, InterfaceName: values.ifname };
}

/** The host a remote endpoint is on, from its ProviderAddress policy. */
function providerOf(e: Endpoint): string | undefined {
  const settings = e.Policies.find((p) => p.Type === "ProviderAddress")?.Settings;
  const address = (settings as { ProviderAddress?: unknown } | undefined)?.ProviderAddress;
  return typeof address === "string" ? address : undefined;
}

/** Networks and namespaces resolve the IDs an endpoint carries to names; another host's is `(remote HOST)`. */
export function endpointTable(
  endpoints: readonly Endpoint[],
  networks: readonly Network[],
  namespaces: readonly Namespace[],
  style: TableStyle = plain,
): string {
  const networkNames = new Map(networks.map((n) => [n.ID, n.Name]));
  const namespaceNames = new Map(namespaces.map((ns) => [ns.ID, ns.Name]));
  const columns: readonly Column<Endpoint>[] = [
    { header: "ID", cell: (e) => shortId(e.ID) },
    { header: "NAME", cell: (e) => e.Name },
    {
      header: "NETWORK",
      cell: (e) => networkNames.get(e.HostComputeNetwork) ?? shortId(e.HostComputeNetwork),
    },
    {
      header: "NAMESPACE",
      cell: (e) => {
        const { HostComputeNamespace: ns, Sandbox, DetachedReason } = e;
        if (ns !== null) return namespaceNames.get(ns) ?? shortId(ns);
        if (e.Flags === 1) return `(remote ${providerOf(e) ?? "host"})`;
        return Sandbox ?? (DetachedReason === undefined ? none : `(${DetachedReason})`);
      },
    },
    { header: "IFNAME", cell: (e) => e.InterfaceName ?? none },
    { header: "HOST IFNAME", wide: true, cell: (e) => e.HostInterfaceName },
    { header: "IPS", cell: (e) => e.IpConfigurations.map((c) => c.IpAddress).join(",") || none },
    { header: "GATEWAYS", wide: true, cell: (e) => e.Routes.map((r) => r.NextHop).join(",") || none },
    { header: "MAC", cell: (e) => e.MacAddress },
    {
      header: "PORTS",
      cell: (e) => e.Policies.flatMap((p) => formatPortMapping(p.Type, p.Settings) ?? []).join(",") || none,
    },
    {
      header: "POLICIES",
      wide: true,
      cell: (e) =>
        e.Policies.filter((p) => formatPortMapping(p.Type, p.Settings) === undefined)
          .map((p) => p.Type)
          .join(",") || none,
    },
  ];
  return columnTable(columns, endpoints, style);
}

/**
 * `answer` (the list, or the one endpoint inspected) as --output asks: JSON and YAML show it as the API
 * gave it and ask for nothing else; a table asks for the networks and namespaces that name its `rows`.
 */
async function showEndpoints(ctx: Context, answer: unknown, rows: readonly Endpoint[]): Promise<void> {
  if (forScripts(ctx.output)) {
    ctx.show(answer);
    return;
  }
  const [networks, namespaces] = await Promise.all([ctx.client.networks(), ctx.client.namespaces()]);
  ctx.show(answer, (style) => endpointTable(rows, networks, namespaces, style));
}

const statsOptions = {
  watch: {
    type: "boolean",
    description: "Sample again every --interval until interrupted (or --count times)",
  },
  interval: {
    type: "string",
    arg: "SECONDS",
    description: "Seconds between samples with --watch (default 2)",
  },
  count: { type: "string", arg: "N", description: "With --watch: stop after N samples" },
} as const satisfies OptionSpecs;

function statsInterval(values: Values<typeof statsOptions>): number {
  const seconds = Number(values.interval ?? "2");
  if (!(seconds > 0 && seconds <= 3600))
    throw new UsageError("--interval must be seconds, more than 0, at most 3600");
  return seconds * 1000;
}

function statsCount(values: Values<typeof statsOptions>): number | undefined {
  if (values.count === undefined) return undefined;
  const n = Number(values.count);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError("--count must be a whole number, at least 1");
  return n;
}

const statsColumns: readonly Column<EndpointStats>[] = [
  { header: "RX BYTES", cell: (s) => String(s.BytesReceived) },
  { header: "RX PACKETS", cell: (s) => String(s.PacketsReceived) },
  { header: "TX BYTES", cell: (s) => String(s.BytesSent) },
  { header: "TX PACKETS", cell: (s) => String(s.PacketsSent) },
  { header: "DROPPED IN", cell: (s) => String(s.DroppedPacketsIncoming) },
  { header: "DROPPED OUT", cell: (s) => String(s.DroppedPacketsOutgoing) },
];

export const endpoint = group({
  names: ["endpoint"],
  help: "Manage endpoints",
  commands: [
    defineCommand({
      names: ["create"],
      help: "Create an endpoint on a network, optionally attached to a namespace, and print its ID",
      args: ["NAME"],
      options: endpointCreateOptions,
      examples: [
        "hostnet endpoint create web1 --network nat --namespace web1 -p 8080:80",
        "hostnet endpoint create dns --network nat --ip 172.20.0.53 -p 127.0.0.1:5353:53/udp -p [::1]:5353:53/udp",
        "hostnet endpoint create db --network nat --acl action=allow,dir=in,proto=tcp,lport=5432,raddr=172.17.0.0/16 --qos-out 10MB",
        "hostnet endpoint create pod-b1 --network vxlan0 --remote --ip 10.244.2.5 --provider-address 192.168.77.2",
      ],
      async run(ctx, { args, values }) {
        const created = await ctx.client.createEndpoint(endpointCreateRequest(args.NAME, values));
        ctx.show(created, () => created.ID);
      },
    }),
    defineCommand({
      names: ["attach"],
      help: "Move an endpoint's interface into a namespace",
      args: ["ENDPOINT"],
      options: attachOptions,
      async run(ctx, { args, values }) {
        const attached = await ctx.client.attachEndpoint(args.ENDPOINT, endpointAttachRequest(values));
        ctx.show(attached);
      },
    }),
    defineCommand({
      names: ["detach"],
      help: "Take an endpoint's interface out of its namespace",
      args: ["ENDPOINT"],
      async run(ctx, { args }) {
        const detached = await ctx.client.detachEndpoint(args.ENDPOINT);
        ctx.show(detached);
      },
    }),
    defineCommand({
      names: ["ls", "list"],
      help: "List endpoints",
      options: { network: { type: "string", arg: "NET", description: "Only the endpoints of this network" } },
      async run(ctx, { values }) {
        const filter = values.network === undefined ? {} : { network: values.network };
        const endpoints = await ctx.client.endpoints(filter);
        await showEndpoints(ctx, endpoints, endpoints);
      },
    }),
    defineCommand({
      names: ["inspect"],
      help: "Print an endpoint as the API's JSON (or as --output asks)",
      args: ["ENDPOINT"],
      output: "json",
      async run(ctx, { args }) {
        const ep = await ctx.client.endpoint(args.ENDPOINT);
        await showEndpoints(ctx, ep, [ep]);
      },
    }),
    defineCommand({
      names: ["stats"],
      help: "Print what an endpoint received, sent and had dropped; --watch samples it again every --interval",
      args: ["ENDPOINT"],
      options: statsOptions,
      examples: ["hostnet endpoint stats web1", "hostnet endpoint stats web1 --watch --interval 5"],
      async run(ctx, { args, values }) {
        const interval = statsInterval(values);
        const samples = values.watch === true ? (statsCount(values) ?? Infinity) : 1;
        for (let i = 0; i < samples; i++) {
          if (i > 0) await new Promise((resolve) => setTimeout(resolve, interval));
          const stats = await ctx.client.endpointStats(args.ENDPOINT);
          ctx.show(stats, (style) => columnTable(statsColumns, [stats], style));
        }
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove an endpoint",
      args: ["ENDPOINT"],
      async run(ctx, { args }) {
        await ctx.client.deleteEndpoint(args.ENDPOINT);
        if (!forScripts(ctx.output)) ctx.out(args.ENDPOINT);
      },
    }),
  ],
});
