/**
 * QOS policies as traffic control on the host side of the endpoint's veth: a token bucket on the veth
 * limits what the endpoint receives; what it sends enters the veth, is redirected to an ifb device and
 * limited there. Pure.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { hostVethName, ifbName } from "../dataplane/naming.js";
import type { QosPolicy } from "../model/policy.js";
import type { Endpoint } from "../model/types.js";

export function qosObjects(ep: Endpoint): KernelObject[] {
  const qos = ep.policies.find((p): p is QosPolicy => p.type === "QOS");
  if (ep.attachment === null || qos === undefined) return [];
  const owner = `ep:${ep.id}` as const;
  const veth = hostVethName(ep.shortId);
  const objects: KernelObject[] = [];
  if (qos.maxIncomingBytesPerSecond !== null)
    objects.push({ kind: "shaper", owner, dev: veth, bytesPerSecond: qos.maxIncomingBytesPerSecond });
  if (qos.maxOutgoingBytesPerSecond !== null) {
    const ifb = ifbName(ep.shortId);
    objects.push(
      { kind: "ifb", owner, name: ifb },
      { kind: "ingressRedirect", owner, dev: veth, to: ifb },
      { kind: "shaper", owner, dev: ifb, bytesPerSecond: qos.maxOutgoingBytesPerSecond },
    );
  }
  return objects;
}
