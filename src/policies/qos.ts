/**
 * QOS (HNS QOS, plus hostnet's limit for traffic to the endpoint): traffic control on the host side of the
 * endpoint's veth. A token bucket on the veth limits what the endpoint receives; what it sends enters the
 * veth, is redirected to an ifb device and limited there.
 */
import { Type, type Static } from "typebox";
import { invalidArgument } from "../errors.js";
import type { KernelObject } from "../dataplane/objects.js";
import { hostVethName, ifbName } from "../dataplane/naming.js";
import { settingsObject, type PolicyKind } from "./kind.js";

/** Bandwidth limits in bytes per second. */
export interface QosPolicy {
  readonly type: "QOS";
  /** Traffic the endpoint sends. */
  readonly maxOutgoingBytesPerSecond: number | null;
  /** Traffic the endpoint receives. */
  readonly maxIncomingBytesPerSecond: number | null;
}

/** Below this, a token bucket cannot pass one full-size packet per tick: refuse rather than stall. */
const QOS_MIN_BYTES_PER_SECOND = 1000;

/** 8 Tbit/s: far beyond any link, and what tc still reads as a number of bits. */
const QOS_MAX_BYTES_PER_SECOND = 1_000_000_000_000;

const rate = Type.Integer({
  minimum: QOS_MIN_BYTES_PER_SECOND,
  maximum: QOS_MAX_BYTES_PER_SECOND,
  description: "Bytes per second",
});
export const QosSettings = Type.Object(
  {
    MaximumOutgoingBandwidthInBytes: Type.Optional(rate),
    MaximumIncomingBandwidthInBytes: Type.Optional(rate),
  },
  { description: "At least one of the two" },
);
export type QosSettings = Static<typeof QosSettings>;

function parseQos(field: string, settings: unknown): QosPolicy {
  const s = settingsObject(field, settings);
  const bytes = (key: string): number | null => {
    const v = s[key];
    if (v === undefined || v === null) return null;
    if (
      typeof v !== "number" ||
      !Number.isInteger(v) ||
      v < QOS_MIN_BYTES_PER_SECOND ||
      v > QOS_MAX_BYTES_PER_SECOND
    )
      throw invalidArgument(
        `${field}.${key}`,
        `must be an integer from ${QOS_MIN_BYTES_PER_SECOND} to ${QOS_MAX_BYTES_PER_SECOND} (bytes per second)`,
      );
    return v;
  };
  const qos: QosPolicy = {
    type: "QOS",
    maxOutgoingBytesPerSecond: bytes("MaximumOutgoingBandwidthInBytes"),
    maxIncomingBytesPerSecond: bytes("MaximumIncomingBandwidthInBytes"),
  };
  if (qos.maxOutgoingBytesPerSecond === null && qos.maxIncomingBytesPerSecond === null)
    throw invalidArgument(field, "needs MaximumOutgoingBandwidthInBytes or MaximumIncomingBandwidthInBytes");
  return qos;
}

export const qos: PolicyKind<QosPolicy, typeof QosSettings> = {
  type: "QOS",
  settings: QosSettings,
  places: ["endpoint", "network"],
  singleton: true,
  parse: parseQos,
  view: (p) => ({
    ...(p.maxOutgoingBytesPerSecond === null
      ? {}
      : { MaximumOutgoingBandwidthInBytes: p.maxOutgoingBytesPerSecond }),
    ...(p.maxIncomingBytesPerSecond === null
      ? {}
      : { MaximumIncomingBandwidthInBytes: p.maxIncomingBytesPerSecond }),
  }),
  endpointObjects({ ep, policies: [policy] }) {
    if (policy === undefined) return [];
    const owner = `ep:${ep.id}` as const;
    const veth = hostVethName(ep.shortId);
    const objects: KernelObject[] = [];
    if (policy.maxIncomingBytesPerSecond !== null)
      objects.push({ kind: "shaper", owner, dev: veth, bytesPerSecond: policy.maxIncomingBytesPerSecond });
    if (policy.maxOutgoingBytesPerSecond !== null) {
      const ifb = ifbName(ep.shortId);
      objects.push(
        { kind: "ifb", owner, name: ifb },
        { kind: "ingressRedirect", owner, dev: veth, to: ifb },
        { kind: "shaper", owner, dev: ifb, bytesPerSecond: policy.maxOutgoingBytesPerSecond },
      );
    }
    return objects;
  },
};
