/** `hostnet trace`: why a packet from an endpoint went where it went, or was dropped. */
import { isIP } from "node:net";
import type { TraceRequest, TraceWire } from "../api/rest/wire.js";
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

/** The probe, then its path one step a line, and how it ended. */
export function traceText(t: TraceWire): string {
  const to = `${t.Destination}${t.Port === undefined ? "" : `:${String(t.Port)}`}/${t.Protocol}`;
  const steps = t.Steps.map((s) => `  ${s.Description}`);
  const end = t.Dropped ? "dropped" : steps.length === 0 ? "no hook of hostnet's saw it" : "passed";
  return [`${t.Endpoint} (${t.Source}) -> ${to}`, ...steps, `${end}; the probe: ${t.Probe}`].join("\n");
}

export const trace = defineCommand({
  names: ["trace"],
  help: "Send a probe from an endpoint and show its path through hostnet's rules: what translated, allowed or dropped it, where it left",
  options: {
    from: { type: "string", arg: "ENDPOINT", description: "The endpoint the probe leaves from (ID or name)" },
    to: {
      type: "string",
      arg: traceTargetSyntax,
      description: "Where it goes: with a port TCP unless it says, else ICMP",
    },
    source: {
      type: "string",
      arg: "ADDR",
      description: "Send from this address of the endpoint's namespace instead of its own (a forged source)",
    },
  },
  examples: ["hostnet trace --from web1 --to 10.0.0.7:5432", "hostnet trace --from web1 --to 1.1.1.1/icmp"],
  async run(ctx, { values }) {
    if (values.from === undefined) throw new UsageError("missing --from ENDPOINT");
    if (values.to === undefined) throw new UsageError(`missing --to ${traceTargetSyntax}`);
    const target = parseTraceTarget(values.to);
    const answer = await ctx.client.trace(
      values.from,
      values.source === undefined ? target : { ...target, Source: values.source },
    );
    ctx.show(answer, () => traceText(answer));
  },
});
