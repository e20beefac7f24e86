/**
 * The modes whose containers sit on the physical LAN, through a bridge that takes the uplink NIC's place
 * there (its MAC, addresses and routes move to the bridge, and back when the network goes; see
 * core/uplinks.ts). Endpoints have static addresses of the LAN's subnet and a default route through the
 * LAN's router; nothing is translated. Pure.
 *
 * - Transparent: the LAN sees every container's own MAC.
 * - L2Bridge: the LAN sees one MAC, the uplink's: container MACs are rewritten on the way out (in the frame
 *   and in ARP) and back on the way in, by destination address (the `l2_*` chains of `bridge hostnet`).
 *   IPv4 only: IPv6 neighbour discovery carries MACs inside checksummed ICMPv6.
 * - L2Tunnel: L2Bridge whose containers are isolated bridge ports: nothing is switched between them on the
 *   host, all of it goes out through the uplink, for the LAN to apply its policy and send it back.
 */
import type { AdapterSpec, NetworkSpec } from "../core/specs.js";
import type { KernelObject } from "../dataplane/objects.js";
import { invalidArgument } from "../errors.js";
import type { Endpoint, Namespace, Network, NetworkType } from "../model/types.js";
import { bridgedEndpointObjects, sameBridgeObjects, uplinkBridgeObjects } from "./bridged.js";
import type { NetworkMode } from "./mode.js";
import { refuseVxlan } from "./settings.js";

/** The uplink NIC the spec names, which every network of these types needs. */
function adapterOf(type: NetworkType, spec: NetworkSpec): AdapterSpec {
  if (spec.adapter === undefined)
    throw invalidArgument(
      "adapter",
      `a ${type} network needs its uplink NIC: a NetAdapterName policy (--adapter IF)`,
    );
  return spec.adapter;
}

function lanMode(type: NetworkType, opts: { rewriteMac: boolean; isolated: boolean }): NetworkMode {
  return {
    type,
    portMappings: false,
    defaultRoute: true,
    families: opts.rewriteMac ? [4] : [4, 6],
    // The LAN's DHCP server would lease to the MAC it sees, which L2Bridge and L2Tunnel hide.
    dhcp: !opts.rewriteMac,
    // The gateway is the LAN's router, not the host.
    resolver: false,

    validate(spec) {
      refuseVxlan(type, spec);
      adapterOf(type, spec);
    },

    async prepare(spec, host) {
      const uplink = await host.takeUplink(adapterOf(type, spec));
      return { overlay: null, uplink, mtu: uplink.mtu };
    },

    networkObjects(net: Network): KernelObject[] {
      const objects = [...uplinkBridgeObjects(net), ...sameBridgeObjects(net)];
      if (opts.rewriteMac && net.uplink !== null) {
        const owner = `net:${net.id}` as const;
        objects.push(
          {
            kind: "nftElement",
            owner,
            set: "l2Uplinks",
            key: [{ t: "ifname", v: net.uplink.dev }],
            value: null,
          },
          {
            kind: "nftElement",
            owner,
            set: "l2HostMac",
            key: [{ t: "ifname", v: net.uplink.dev }],
            value: [{ t: "ether", v: net.uplink.mac }],
          },
        );
      }
      return objects;
    },

    endpointObjects(ep: Endpoint, net: Network, ns: Namespace | null): KernelObject[] {
      const objects = bridgedEndpointObjects(ep, net, ns, {
        defaultRoute: true,
        isolated: opts.isolated,
        linkLocal6WithoutIpv6: true,
      });
      const uplink = net.uplink?.dev;
      if (opts.rewriteMac && ep.attachment !== null && uplink !== undefined)
        for (const a of ep.addresses.filter((a) => a.family === 4))
          objects.push({
            kind: "nftElement",
            owner: `ep:${ep.id}`,
            set: "l2Macs4",
            key: [
              { t: "ifname", v: uplink },
              { t: "addr", v: a.address },
            ],
            value: [{ t: "ether", v: ep.mac }],
          });
      return objects;
    },
  };
}

export const transparent = lanMode("Transparent", { rewriteMac: false, isolated: false });
export const l2bridge = lanMode("L2Bridge", { rewriteMac: true, isolated: false });
export const l2tunnel = lanMode("L2Tunnel", { rewriteMac: true, isolated: true });
