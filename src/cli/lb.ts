/** `hostnet lb …`: load balancers, their VIPs and ports, changed whole or one backend at a time. */
import type { LoadBalancerRequest, LoadBalancerWire as LoadBalancer } from "../api/rest/load-balancers.js";
import type { EndpointWire as Endpoint } from "../api/rest/wire.js";
import { defineCommand, group, type Context, type OptionSpecs, type Values } from "./command.js";
import { UsageError } from "./errors.js";
import { columnTable, forScripts, none, plain, shortId, type Column, type TableStyle } from "./output.js";
import {
  LB_DISTRIBUTION_SOURCE_IP as SOURCE_IP,
  LB_DSR as DSR,
  LB_IPV6 as IPV6,
  LB_PORT_ILB as ILB,
  LB_PORT_LOCAL_ROUTED_VIP as LOCAL_ROUTED_VIP,
} from "../model/hns-load-balancer.js";
import { formatPortMapping } from "./publish.js";

export const lbCreateOptions = {
  vip: {
    type: "string",
    multiple: true,
    arg: "IP",
    description: "A frontend VIP, IPv4 or IPv6; without any, a NodePort on every address of this host",
  },
  port: {
    type: "string",
    multiple: true,
    arg: "EXT:INT[/tcp|/udp]",
    description: "A frontend port and the backends' port it goes to; at least one",
  },
  backend: { type: "string", multiple: true, arg: "EP", description: "A backend endpoint (name or ID)" },
  ilb: { type: "boolean", description: "Internal: reachable only from containers on this host's networks" },
  "local-routed-vip": {
    type: "boolean",
    description: "With --ilb or without --vip (NodePort): reachable from this host too",
  },
  ipv6: {
    type: "boolean",
    description: "IPv6: every VIP is IPv6; without --vip, a NodePort on IPv6 addresses",
  },
  affinity: {
    type: "boolean",
    description: "Source-IP affinity: a client's new connections go to the backend its last one went to",
  },
  "affinity-timeout": {
    type: "string",
    arg: "SECONDS",
    description:
      "With --affinity: how long a client keeps its backend after its last new connection, 1 to 86400 (default: hostnetd's --lb-affinity-timeout, 10800)",
  },
  "source-vip": {
    type: "string",
    arg: "IP",
    description: "The source address the backends see (of a VIP's family, or the NodePort's)",
  },
  dsr: {
    type: "boolean",
    description: "Direct server return: backends get connections unchanged and answer clients themselves",
  },
} as const satisfies OptionSpecs;

const PORT = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/i;

interface PortOptions {
  readonly ilb: boolean;
  readonly localRoutedVip: boolean;
  readonly affinity: boolean;
}

/** `80:8080/tcp` as a load balancer port mapping. */
export function parseLbPort(
  text: string,
  options: PortOptions = { ilb: false, localRoutedVip: false, affinity: false },
): LoadBalancerRequest["PortMappings"][number] {
  const m = PORT.exec(text);
  const [ext, int] = [Number(m?.[1]), Number(m?.[2])];
  if (m === null || !(ext >= 1 && ext <= 65535 && int >= 1 && int <= 65535))
    throw new UsageError(`--port "${text}" is not EXT:INT[/tcp|/udp] with ports from 1 to 65535`);
  const flags = (options.ilb ? ILB : 0) | (options.localRoutedVip ? LOCAL_ROUTED_VIP : 0);
  return {
    Protocol: (m[3] ?? "tcp").toUpperCase(),
    ExternalPort: ext,
    InternalPort: int,
    ...(flags === 0 ? {} : { Flags: flags }),
    ...(options.affinity ? { DistributionType: SOURCE_IP } : {}),
  };
}

/** The body of POST /loadbalancers for `lb create NAME …`, and of PUT /loadbalancers/NAME for `lb update`. */
export function lbCreateRequest(name: string, values: Values<typeof lbCreateOptions>): LoadBalancerRequest {
  const vips = values.vip ?? [];
  const ports = values.port ?? [];
  if (ports.length === 0) throw new UsageError("give at least one --port");
  if (values["local-routed-vip"] === true && values.ilb !== true && vips.length > 0)
    throw new UsageError(
      "--local-routed-vip needs --ilb, or no --vip (NodePort): the host reaches other load balancers already",
    );
  const options: PortOptions = {
    ilb: values.ilb === true,
    localRoutedVip: values["local-routed-vip"] === true,
    affinity: values.affinity === true,
  };
  const request: LoadBalancerRequest = {
    Name: name,
    FrontendVIPs: vips,
    PortMappings: ports.map((p) => parseLbPort(p, options)),
    HostComputeEndpoints: values.backend ?? [],
  };
  const sourceVip = values["source-vip"];
  const timeout = values["affinity-timeout"];
  if (timeout !== undefined && !/^\d+$/.test(timeout))
    throw new UsageError(`--affinity-timeout "${timeout}" is not a whole number of seconds`);
  return {
    ...request,
    ...(sourceVip === undefined ? {} : { SourceVIP: sourceVip }),
    ...(timeout === undefined ? {} : { AffinityTimeoutSeconds: Number(timeout) }),
    ...(values.dsr === true || values.ipv6 === true
      ? { Flags: (values.dsr === true ? DSR : 0) | (values.ipv6 === true ? IPV6 : 0) }
      : {}),
  };
}

/** Endpoints resolve the backend IDs a load balancer carries to names. */
export function lbTable(
  lbs: readonly LoadBalancer[],
  endpoints: readonly Endpoint[],
  style: TableStyle = plain,
): string {
  const names = new Map(endpoints.map((e) => [e.ID, e.Name]));
  const columns: readonly Column<LoadBalancer>[] = [
    { header: "ID", cell: (lb) => shortId(lb.ID) },
    { header: "NAME", cell: (lb) => lb.Name },
    { header: "VIPS", cell: (lb) => lb.FrontendVIPs.join(",") },
    {
      header: "PORTS",
      cell: (lb) => lb.PortMappings.map((m) => formatPortMapping("PortMapping", m)).join(","),
    },
    {
      header: "BACKENDS",
      cell: (lb) => lb.HostComputeEndpoints.map((id) => names.get(id) ?? shortId(id)).join(",") || none,
    },
    {
      header: "ILB",
      cell: (lb) => (lb.PortMappings.some((m) => ((m.Flags ?? 0) & ILB) !== 0) ? "yes" : "no"),
    },
    { header: "SOURCE VIP", wide: true, cell: (lb) => lb.SourceVIP ?? none },
    {
      header: "AFFINITY",
      wide: true,
      cell: (lb) => (lb.AffinityTimeoutSeconds === undefined ? none : `${lb.AffinityTimeoutSeconds}s`),
    },
    { header: "DSR", wide: true, cell: (lb) => ((lb.Flags & DSR) !== 0 ? "yes" : "no") },
    { header: "CREATED", wide: true, cell: (lb) => lb.CreatedAt },
  ];
  return columnTable(columns, lbs, style);
}

/**
 * `answer` (the list, or the one load balancer inspected) as --output asks; only a table asks for the
 * endpoints that name its backends.
 */
async function showLoadBalancers(
  ctx: Context,
  answer: unknown,
  rows: readonly LoadBalancer[],
): Promise<void> {
  if (forScripts(ctx.output)) {
    ctx.show(answer);
    return;
  }
  const endpoints = await ctx.client.endpoints();
  ctx.show(answer, (style) => lbTable(rows, endpoints, style));
}

const backendCommand = (names: [string], help: string, requestType: "Add" | "Remove") =>
  defineCommand({
    names,
    help,
    args: ["NAME", "EP"],
    examples: [`hostnet lb ${names[0]} web web3`],
    async run(ctx, { args }) {
      const lb = await ctx.client.modifyBackends(args.NAME, {
        RequestType: requestType,
        HostComputeEndpoints: [args.EP],
      });
      ctx.show(lb);
    },
  });

export const lb = group({
  names: ["lb"],
  help: "Manage load balancers",
  commands: [
    defineCommand({
      names: ["create"],
      help: "Create a load balancer and print its ID",
      args: ["NAME"],
      options: lbCreateOptions,
      examples: [
        "hostnet lb create web --vip 198.51.100.10 --port 80:8080/tcp --backend web1 --backend web2",
        "hostnet lb create dns --vip 10.96.0.10 --port 53:53/udp --backend dns1 --ilb --local-routed-vip",
        "hostnet lb create shop --vip 198.51.100.20 --port 443:8443/tcp --backend shop1 --backend shop2 --affinity",
        "hostnet lb update shop --vip 2001:db8:100::20 --ipv6 --port 443:8443/tcp --backend shop1 --affinity --affinity-timeout 600",
      ],
      async run(ctx, { args, values }) {
        const created = await ctx.client.createLoadBalancer(lbCreateRequest(args.NAME, values));
        ctx.show(created, () => created.ID);
      },
    }),
    defineCommand({
      names: ["update"],
      help: "Make a load balancer what the options say, all at once: VIPs, ports, flags and backends (unchanged backends keep their connections)",
      args: ["NAME"],
      options: lbCreateOptions,
      examples: [
        "hostnet lb update web --vip 198.51.100.10 --port 80:8080/tcp --backend web1 --backend web2 --backend web3",
      ],
      async run(ctx, { args, values }) {
        ctx.show(await ctx.client.updateLoadBalancer(args.NAME, lbCreateRequest(args.NAME, values)));
      },
    }),
    backendCommand(
      ["add-backend"],
      "Add one backend endpoint: new connections may land on it at once",
      "Add",
    ),
    backendCommand(
      ["rm-backend"],
      "Remove one backend endpoint: no new connections; its established ones finish",
      "Remove",
    ),
    defineCommand({
      names: ["ls", "list"],
      help: "List load balancers",
      async run(ctx) {
        const lbs = await ctx.client.loadBalancers();
        await showLoadBalancers(ctx, lbs, lbs);
      },
    }),
    defineCommand({
      names: ["inspect"],
      help: "Print a load balancer as the API's JSON (or as --output asks)",
      args: ["NAME"],
      output: "json",
      async run(ctx, { args }) {
        const lb = await ctx.client.loadBalancer(args.NAME);
        await showLoadBalancers(ctx, lb, [lb]);
      },
    }),
    defineCommand({
      names: ["rm", "remove"],
      help: "Remove a load balancer",
      args: ["NAME"],
      async run(ctx, { args }) {
        await ctx.client.deleteLoadBalancer(args.NAME);
        if (!forScripts(ctx.output)) ctx.out(args.NAME);
      },
    }),
  ],
});
