/** `hostnet endpoint …`: endpoints (a veth on a network, with addresses and published ports). */
import type {
  AttachRequest,
  EndpointRequest,
  EndpointWire as Endpoint,
  NamespaceWire as Namespace,
  NetworkWire as Network,
} from "../api/rest/wire.js";
import { defineCommand, group, type OptionSpecs, type Values } from "./command.js";
import { UsageError } from "./errors.js";
import { json, none, shortId, table } from "./output.js";
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
  ...policyOptions,
} as const satisfies OptionSpecs;

/** The body of POST /endpoints for `endpoint create NAME …`. */
export function endpointCreateRequest(
  name: string,
  values: Values<typeof endpointCreateOptions>,
): EndpointRequest {
  if (values.network === undefined) throw new UsageError("missing required option --network");
  if (values.ifname !== undefined && values.namespace === undefined)
    throw new UsageError("--ifname needs --namespace");
  const ips = values.ip ?? [];
  return {
    Name: name,
    HostComputeNetwork: values.network,
    ...(values.namespace === undefined ? {} : { HostComputeNamespace: values.namespace }),
    ...(values.ifname === undefined ? {} : { InterfaceName: values.ifname }),
    ...(ips.length === 0 ? {} : { IpConfigurations: ips.map((IpAddress) => ({ IpAddress })) }),
    ...(values.mac === undefined ? {} : { MacAddress: values.mac }),
    Policies: [
      ...(values.publish ?? []).map((p) => ({ Type: "PortMapping", Settings: parsePublish(p) })),
      ...policiesOf(values),
    ],
  };
}

/** The body of POST /endpoints/NAME/attach for `endpoint attach NAME …`. */
export function endpointAttachRequest(values: Values<typeof attachOptions>): AttachRequest {
  if (values.namespace === undefined) throw new UsageError("missing required option --namespace");
  const request = { HostComputeNamespace: values.namespace };
  return values.ifname === undefined ? request : { ...request, InterfaceName: values.ifname };
}

/** Networks and namespaces resolve the IDs an endpoint carries to names. */
export function endpointTable(
  endpoints: readonly Endpoint[],
  networks: readonly Network[],
  namespaces: readonly Namespace[],
): string {
  const networkNames = new Map(networks.map((n) => [n.ID, n.Name]));
  const namespaceNames = new Map(namespaces.map((ns) => [ns.ID, ns.Name]));
  return table(
    ["ID", "NAME", "NETWORK", "NAMESPACE", "IFNAME", "IPS", "MAC", "PORTS"],
    endpoints.map((e) => {
      const ns = e.HostComputeNamespace;
      const ports = e.Policies.flatMap((p) => formatPortMapping(p.Type, p.Settings) ?? []);
      return [
        shortId(e.ID),
        e.Name,
        networkNames.get(e.HostComputeNetwork) ?? shortId(e.HostComputeNetwork),
        ns === null
          ? (e.Sandbox ?? (e.DetachedReason === undefined ? none : `(${e.DetachedReason})`))
          : (namespaceNames.get(ns) ?? shortId(ns)),
        e.InterfaceName ?? none,
        e.IpConfigurations.map((c) => c.IpAddress).join(",") || none,
        e.MacAddress,
        ports.join(",") || none,
      ];
    }),
  );
}

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
      ],
      async run(ctx, { args, values }) {
        const created = await ctx.client.createEndpoint(endpointCreateRequest(args.NAME, values));
        ctx.out(ctx.json ? json(created) : created.ID);
      },
    }),
    defineCommand({
      names: ["attach"],
      help: "Move an endpoint's interface into a namespace",
      args: ["ENDPOINT"],
      options: attachOptions,
      async run(ctx, { args, values }) {
        const attached = await ctx.client.attachEndpoint(args.ENDPOINT, endpointAttachRequest(values));
        if (ctx.json) ctx.out(json(attached));
      },
    }),
    defineCommand({
      names: ["detach"],
      help: "Take an endpoint's interface out of its namespace",
      args: ["ENDPOINT"],
      async run(ctx, { args }) {
        const detached = await ctx.client.detachEndpoint(args.ENDPOINT);
        if (ctx.json) ctx.out(json(detached));
      },
    }),
    defineCommand({
      names: ["ls", "list"],
      help: "List endpoints",
      options: { network: { type: "string", arg: "NET", description: "Only the endpoints of this network" } },
      async run(ctx, { values }) {
        const filter = values.network === undefined ? {} : { network: values.network };
        if (ctx.json) {
          ctx.out(json(await ctx.client.endpoints(filter)));
          return;
        }
        const [endpoints, networks, namespaces] = await Promise.all([
          ctx.client.endpoints(filter),
          ctx.client.networks(),
          ctx.client.namespaces(),
        ]);
        ctx.out(endpointTable(endpoints, networks, namespaces));
      },
    }),
    defineCommand({
      names: ["inspect"],
      help: "Print an endpoint as the API's JSON",
      args: ["ENDPOINT"],
      async run(ctx, { args }) {
        ctx.out(json(await ctx.client.endpoint(args.ENDPOINT)));
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove an endpoint",
      args: ["ENDPOINT"],
      async run(ctx, { args }) {
        await ctx.client.deleteEndpoint(args.ENDPOINT);
        if (!ctx.json) ctx.out(args.ENDPOINT);
      },
    }),
  ],
});
