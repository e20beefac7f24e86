/** `hostnet trace`: why a packet from an endpoint went where it went, or was dropped. */
import { isIP } from "node:net";
import type { TraceRequest, TraceWire } from "../api/rest/trace.js";
import { defineCommand } from "./command.js";
import { UsageError } from "./errors.js";

const traceTargetSyntax = "ADDR[:PORT][/tcp|/udp|/icmp]";

/** `ADDR`, `ADDR:PORT` or `[IPV6]:PORT`: an IPv6 address with a port needs brackets, as in a URL. */
function addressAndPort(text: string): { address: string; port?: string } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null)
    return bracketed[2] === undefined
      ? { address: bracketed[1] ?? "" }
      : { address: bracketed[1] ?? "", port: bracketed[2] };
  if (isIP(text) !== 0) return { address: text };
  const colon = text.lastIndexOf(":");
  return colon < 0 ? undefined : { address: text.slice(0, colon), port: text.slice(colon + 1) };
}

/**
 * The probe `--to` asks for: with a port TCP unless it says, without one ICMP.
 * @example
 * parseTraceTarget("10.0.0.2:53/udp") // { Destination: "10.0.0.2", Protocol: "udp", Port: 53 }
 * parseTraceTarget("[fd00::2]:80")     // { Destination: "fd00::2", Protocol: "tcp", Port: 80 }
 */
export function parseTraceTarget(text: string): TraceRequest {
  const slash = text.lastIndexOf("/");
  const target = addressAndPort(slash < 0 ? text : text.slice(0, slash));
  if (target === undefined || isIP(target.address) === 0)
    throw new UsageError(`--to "${text}" is not ${traceTargetSyntax}`);
  const { address, port } = target;
  const proto = (slash < 0 ? (port === undefined ? "icmp" : "tcp") : text.slice(slash + 1)).toLowerCase();
  if (proto !== "tcp" && proto !== "udp" && proto !== "icmp")
    throw new UsageError(`--to "${text}": protocol "${proto}" is not tcp, udp or icmp`);
  if (proto === "icmp" && port !== undefined) throw new UsageError(`--to "${text}": icmp has no port`);
  if (proto !== "icmp" && port === undefined) throw new UsageError(`--to "${text}": ${proto} needs a port`);
  const n = /^\d{1,5}$/.test(port ?? "") ? Number(port) : NaN;
  if (port !== undefined && !(n >= 1 && n <= 65535))
    throw new UsageError(`--to "${text}": port "${port}" is not a number from 1 to 65535`);
  return { Destination: address, Protocol: proto, ...(port === undefined ? {} : { Port: n }) };
}

/** The packet, then its path one step a line, and how it ended: what the probe saw, or what the watch did. */
export function traceText(t: TraceWire): string {
  const to = `${t.Destination}${t.Port === undefined ? "" : `:${String(t.Port)}`}/${t.Protocol}`;
  const head = `${t.Endpoint} (${t.Source}) -> ${to}`;
  if (t.Seen === false)
    return [
      head,
      `no packet of this flow within ${String(t.TimeoutSeconds ?? 0)} s; nothing was traced`,
    ].join("\n");
  const steps = t.Steps.map((s) => `  ${s.Description}`);
  const end = t.Dropped ? "dropped" : steps.length === 0 ? "no hook of hostnet's saw it" : "passed";
  const how = t.Probe === undefined ? "watched: a packet the endpoint sent itself" : `the probe: ${t.Probe}`;
  return [head, ...steps, `${end}; ${how}`].join("\n");
}

/** --timeout: whole seconds, at least 1; hostnetd checks the most. */
function watchTimeout(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1)) throw new UsageError(`--timeout "${text}" is not a whole number of seconds, at least 1`);
  return n;
}

/** The request body `hostnet trace`'s flags ask for. */
export function traceRequest(values: {
  readonly to?: string;
  readonly source?: string;
  readonly watch?: boolean;
  readonly timeout?: string;
}): TraceRequest {
  if (values.to === undefined) throw new UsageError(`missing --to ${traceTargetSyntax}`);
  if (values.watch !== true && values.timeout !== undefined)
    throw new UsageError("--timeout is for --watch, which waits");
  if (values.watch === true && values.source !== undefined)
    throw new UsageError("--source is for a probe: --watch follows what the endpoint sends itself");
  return {
    ...parseTraceTarget(values.to),
    ...(values.source === undefined ? {} : { Source: values.source }),
    ...(values.watch === true ? { Watch: true } : {}),
    ...(values.timeout === undefined ? {} : { TimeoutSeconds: watchTimeout(values.timeout) }),
  };
}

export const trace = defineCommand({
  names: ["trace"],
  help: "Send a probe from an endpoint, or watch its next packet, and show its path through hostnet's rules: what translated, allowed or dropped it, where it left",
  options: {
    from: {
      type: "string",
      arg: "ENDPOINT",
      description: "The endpoint the packet leaves from (ID or name)",
    },
    to: {
      type: "string",
      arg: traceTargetSyntax,
      description: "Where it goes: with a port TCP unless it says, else ICMP",
    },
    source: {
      type: "string",
      arg: "ADDR",
      description:
        "Send the probe from this address of the endpoint's namespace instead of its own (a forged source)",
    },
    watch: {
      type: "boolean",
      description: "Send no probe: trace the next packet of the flow the endpoint sends itself",
    },
    timeout: {
      type: "string",
      arg: "SECONDS",
      description: "With --watch: how long to wait for that packet (hostnetd's default: 30)",
    },
  },
  examples: [
    "hostnet trace --from web1 --to 10.0.0.7:5432",
    "hostnet trace --from web1 --to 1.1.1.1/icmp",
    "hostnet trace --from web1 --to 10.0.0.7:5432 --watch --timeout 120",
  ],
  async run(ctx, { values }) {
    if (values.from === undefined) throw new UsageError("missing --from ENDPOINT");
    const answer = await ctx.client.trace(values.from, traceRequest(values));
    ctx.show(answer, () => traceText(answer));
  },
});
