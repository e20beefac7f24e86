/**
 * `hostnet policy …`: the ACL and QoS policies of an endpoint, or with --network those every endpoint of a
 * network gets, listed by number and changed live.
 */
import type { CountedPolicy, Endpoint, Policy, PolicyRequest, QosSettings } from "../client/wire.js";
import { HostnetError } from "../errors.js";
import { aclSyntax, parseAcl, protocolNumbers } from "./acl.js";
import { defineCommand, group, type Context, type OptionSpecs, type Values } from "./command.js";
import { UsageError } from "./errors.js";
import { json, none, table } from "./output.js";
import { formatRate, parseRate, rateSyntax } from "./rate.js";

/** The flags that write policies, shared by `endpoint create`, `policy add` and `policy set`. */
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
} as const satisfies OptionSpecs;

/** The policies --acl, --qos-out and --qos-in give: the ACLs in order, then one QOS for both rates. */
export function policiesOf(values: Values<typeof policyOptions>): Policy[] {
  const acls = (values.acl ?? []).map((spec) => ({ Type: "ACL", Settings: parseAcl(spec) }));
  const out = values["qos-out"];
  const incoming = values["qos-in"];
  if (out === undefined && incoming === undefined) return acls;
  // Outgoing first, as hostnetd shows it, so that the settings read back unchanged.
  const settings: QosSettings = {
    ...(out === undefined ? {} : { MaximumOutgoingBandwidthInBytes: parseRate("--qos-out", out) }),
    ...(incoming === undefined ? {} : { MaximumIncomingBandwidthInBytes: parseRate("--qos-in", incoming) }),
  };
  return [...acls, { Type: "QOS", Settings: settings }];
}

/**
 * The policies `policy ls` shows and `--index` counts: all but the port mappings, which `--publish` sets
 * and which the policy requests cannot change.
 */
export const listedPolicies = (endpoint: Endpoint): Policy[] =>
  endpoint.Policies.filter((p) => p.Type !== "PortMapping");

/** The body of POST /endpoints/ENDPOINT/policies for `policy add`. */
export function policyAddRequest(values: Values<typeof policyOptions>): PolicyRequest {
  const policies = policiesOf(values);
  if (policies.length === 0) throw new UsageError("nothing to add: give --acl, --qos-out or --qos-in");
  return { RequestType: "Add", Policies: policies };
}

/** The body for `policy set`, which replaces every policy but the port mappings. */
export function policySetRequest(values: Values<typeof policyOptions>): PolicyRequest {
  const policies = policiesOf(values);
  // An empty Update clears every rule, Block rules included: too much for a forgotten flag to do.
  if (policies.length === 0)
    throw new UsageError(
      "nothing to set: give --acl, --qos-out or --qos-in; 'hostnet policy rm ENDPOINT --all' removes every policy",
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
  "qos-out": { ...policyOptions["qos-out"], description: "The QoS policy with exactly these rates" },
  "qos-in": { ...policyOptions["qos-in"], description: "The QoS policy with exactly these rates" },
  all: { type: "boolean", description: "Every policy; port mappings stay" },
} as const satisfies OptionSpecs;

/** `policy rm`, checked before anything is sent, then turned into a request once the policies are known. */
export interface Removal {
  /** --index and --qos name policies by what the endpoint has, so its policies must be read first. */
  readonly readsPolicies: boolean;
  /** @param listed the endpoint's policies as listedPolicies gives them; empty when not read */
  request(endpoint: string, listed: readonly Policy[]): PolicyRequest;
}

function parseIndex(text: string): number {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : 0;
  if (n < 1)
    throw new UsageError(`--index "${text}" is not a number from 1 up, as 'hostnet policy ls' shows`);
  return n;
}

const policyCount = (n: number): string => (n === 0 ? "no policies" : n === 1 ? "1 policy" : `${n} policies`);

export function policyRemoval(values: Values<typeof policyRemoveOptions>): Removal {
  const given = policiesOf(values);
  const indexes = [...new Set((values.index ?? []).map(parseIndex))];
  const qos = values.qos === true;
  if (qos && given.some((p) => p.Type === "QOS"))
    throw new UsageError(
      "--qos takes the QoS policy out whatever its rates: leave out --qos-out and --qos-in",
    );
  if (values.all === true) {
    if (qos || indexes.length > 0 || given.length > 0)
      throw new UsageError("--all removes every policy: give it alone");
    return { readsPolicies: false, request: () => ({ RequestType: "Update", Policies: [] }) };
  }
  if (!qos && indexes.length === 0 && given.length === 0)
    throw new UsageError("nothing to remove: give --index, --acl, --qos, --qos-out, --qos-in or --all");
  return {
    readsPolicies: qos || indexes.length > 0,
    request(endpoint, listed) {
      // The policies go back exactly as hostnetd showed them, not as positions: if the endpoint changed
      // since it was read, Remove fails on a policy that is gone instead of taking out its successor.
      const byIndex = indexes.map((n) => {
        const policy = listed[n - 1];
        if (policy === undefined)
          throw new HostnetError(
            "NotFound",
            `--index ${n}: endpoint "${endpoint}" has ${policyCount(listed.length)}`,
          );
        return policy;
      });
      const theQos = listed.find((p) => p.Type === "QOS");
      if (qos && theQos === undefined)
        throw new HostnetError("NotFound", `--qos: endpoint "${endpoint}" has no QoS policy`);
      return {
        RequestType: "Remove",
        Policies: [...given, ...(qos && theQos !== undefined ? [theQos] : []), ...byIndex],
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

/** Numbered from 1, the numbers `policy rm --index` takes. */
export function policyTable(policies: readonly CountedPolicy[]): string {
  return table(
    [
      "INDEX",
      "TYPE",
      "DIRECTION",
      "ACTION",
      "PRIORITY",
      "PROTOCOLS",
      "LOCAL",
      "REMOTE",
      "PORTS/RATE",
      "PACKETS",
      "BYTES",
    ],
    policies.map((p, i) => [
      String(i + 1),
      p.Type,
      ...columns(p),
      p.Counters === undefined ? none : String(p.Counters.Packets),
      p.Counters === undefined ? none : String(p.Counters.Bytes),
    ]),
  );
}

/** Makes a policy command work on a network's policies instead of an endpoint's. */
const targetOption = {
  network: {
    type: "boolean",
    description: "ENDPOINT names a network: the policies every endpoint on it gets besides its own",
  },
} as const satisfies OptionSpecs;

type Target = Pick<Values<typeof targetOption>, "network">;

async function modify(ctx: Context, target: Target, ref: string, request: PolicyRequest): Promise<void> {
  const changed =
    target.network === true
      ? await ctx.client.modifyNetworkPolicies(ref, request)
      : await ctx.client.modifyPolicies(ref, request);
  if (ctx.json) ctx.out(json(changed));
}

export const policy = group({
  names: ["policy"],
  help: "Manage the ACL and QoS policies of an endpoint or, with --network, of a network (port mappings are endpoint create's --publish)",
  commands: [
    defineCommand({
      names: ["add"],
      help: "Add policies to an endpoint, or with --network to a network",
      args: ["ENDPOINT"],
      options: { ...policyOptions, ...targetOption },
      examples: [
        "hostnet policy add web1 --acl action=allow,dir=in,proto=tcp,lport=80+443",
        "hostnet policy add web1 --qos-out 8Mbit --qos-in 1MB",
        "hostnet policy add --network nat --acl action=block,dir=out,raddr=169.254.169.254",
      ],
      async run(ctx, { args, values }) {
        await modify(ctx, values, args.ENDPOINT, policyAddRequest(values));
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
      ],
      async run(ctx, { args, values }) {
        const removal = policyRemoval(values);
        const listed = !removal.readsPolicies
          ? []
          : values.network === true
            ? (await ctx.client.network(args.ENDPOINT)).Policies
            : listedPolicies(await ctx.client.endpoint(args.ENDPOINT));
        await modify(ctx, values, args.ENDPOINT, removal.request(args.ENDPOINT, listed));
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
            ? (await ctx.client.network(args.ENDPOINT)).Policies
            : await ctx.client.policies(args.ENDPOINT);
        ctx.out(ctx.json ? json(listed) : policyTable(listed));
      },
    }),
  ],
});
