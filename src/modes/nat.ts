/**
 * NAT: an internal bridge with a private subnet; containers leave masqueraded behind the host and the
 * outside reaches them only through port mappings (elements of nft maps, O(1) per mapping).
 */
import type { KernelObject } from "../dataplane/objects.js";
import { bridgeName } from "../dataplane/naming.js";
import type { Endpoint, Namespace, Network } from "../model/types.js";
import { bridgedEndpointObjects, bridgeObjects, sameBridgeObjects } from "./bridged.js";
import type { NetworkMode } from "./mode.js";
import { prepareNothing, refuseUplink, refuseVxlan } from "./settings.js";

export const nat: NetworkMode = {
  type: "NAT",
  portMappings: true,

  defaultRoute: true,
  families: [4, 6],
  dhcp: false,
  resolver: true,

  validate(spec) {
    refuseVxlan("NAT", spec);
    refuseUplink("NAT", spec);
  },
  prepare: prepareNothing,

  networkObjects(net: Network): KernelObject[] {
    const owner = `net:${net.id}` as const;
    const bridge = bridgeName(net.shortId);
    const objects = bridgeObjects(net, true);
    objects.push(
      { kind: "sysctl", owner, key: `net/ipv4/conf/${bridge}/route_localnet`, value: "1" },
      { kind: "nftElement", owner, set: "natBridges", key: [{ t: "ifname", v: bridge }], value: null },
      ...sameBridgeObjects(net),
    );
    for (const s of net.subnets) {
      objects.push(
        {
          kind: "nftElement",
          owner,
          set: `masq${s.family}`,
          key: [{ t: "prefix", v: s.prefix }],
          value: null,
        },
        {
          kind: "nftElement",
          owner,
          set: `hairpin${s.family}`,
          key: [
            { t: "ifname", v: bridge },
            { t: "prefix", v: s.prefix },
          ],
          value: null,
        },
      );
    }
    return objects;
  },

  endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
    if (ep.attachment === null) return [];
    const owner = `ep:${ep.id}` as const;
    const objects = bridgedEndpointObjects(ep, net, ns, {
      defaultRoute: true,
      isolated: false,
      linkLocal6WithoutIpv6: false,
    });
    for (const m of ep.portMappings) {
      const target = ep.addresses.find((a) => a.family === 6) ?? ep.addresses[0];
      if ((m.hostIp === null || m.hostIp === "::1") && target !== undefined)
        objects.push({
          kind: "loopbackProxy",
          owner,
          protocol: m.protocol,
          port: m.hostPort,
          target: target.address,
          targetPort: m.internalPort,
        });
      if (m.hostIp === "::1") continue;
      for (const a of ep.addresses) {
        const bound = m.hostIp !== null;
        if (bound && m.hostIp.includes(":") !== (a.family === 6)) continue;
        objects.push({
          kind: "nftElement",
          owner,
          set: bound ? `portmapIp${a.family}` : `portmap${a.family}`,
          key: [
            ...(bound ? [{ t: "addr" as const, v: m.hostIp }] : []),
            { t: "proto", v: m.protocol },
            { t: "port", v: m.hostPort },
          ],
          value: [
            { t: "addr", v: a.address },
            { t: "port", v: m.internalPort },
          ],
        });
      }
    }
    return objects;
  },
};
