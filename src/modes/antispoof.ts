/**
 * Anti-spoofing, on for every attached endpoint of every bridge-based mode: the bridge port of its veth
 * may only send from the endpoint's MAC and addresses (see the `antispoof` chain of `bridge hostnet`). Pure.
 */
import type { KernelObject } from "../dataplane/objects.js";
import { hostVethName } from "../dataplane/naming.js";
import type { Endpoint } from "../model/types.js";

export function antiSpoofObjects(ep: Endpoint): KernelObject[] {
  if (ep.attachment === null) return [];
  const owner = `ep:${ep.id}` as const;
  const port = { t: "ifname", v: hostVethName(ep.shortId) } as const;
  return [
    { kind: "nftElement", owner, set: "spoofMac", key: [port, { t: "ether", v: ep.mac }], value: null },
    ...ep.addresses.map((a): KernelObject => ({
      kind: "nftElement",
      owner,
      set: `spoofIp${a.family}`,
      key: [port, { t: "addr", v: a.address }],
      value: null,
    })),
  ];
}
