/**
 * An overlay network's VXLAN as its spec asks for it: checked against what this host has (an underlay
 * address), and the MTU its packets fit in once encapsulated.
 */
import type { NetworkSpec } from "../core/specs.js";
import type { FieldValue } from "../policies/kind.js";
import { checkPort, MIN_MTU } from "../core/validate.js";
import { HostnetError, invalidArgument } from "../errors.js";
import type { OverlaySettings } from "../model/types.js";
import type { ModeHost } from "./mode.js";

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
const VXLAN_OVERHEAD = 50;
/** IANA's VXLAN port. */
export const DEFAULT_VXLAN_PORT = 4789;

/**
 * The VXLAN a spec asks for, checked: it needs this host's underlay address, a VNI and its subnets (an IPv4
 * one, an IPv6 one, or both).
 */
export function vxlanSettings(spec: NetworkSpec, host: ModeHost): OverlaySettings {
  if (host.hostAddress === undefined)
    throw invalidArgument("type", "Overlay networks need hostnetd --host-address (and --etcd to span hosts)");
  const vni = spec.overlay?.vni;
  if (vni === undefined)
    throw invalidArgument("vni", "an Overlay network needs a VSID policy (its VXLAN network identifier)");
  if (vni.value < 1 || vni.value > 16777215) throw invalidArgument(vni.field, "must be from 1 to 16777215");
  const port = spec.overlay?.port;
  if (port !== undefined) checkPort(port.field, port.value);
  if (spec.subnets.length === 0)
    throw invalidArgument(
      "subnets",
      host.clustered
        ? "an Overlay network needs its subnets, the same on every host"
        : "an Overlay network needs its subnets: this host's part of the overlay",
    );
  const overhead = spec.overlay?.overhead;
  if (overhead !== undefined && (!Number.isInteger(overhead.value) || overhead.value < 0))
    throw invalidArgument(overhead.field, "must be a whole number of bytes, 0 or more");
  return {
    vni: vni.value,
    vxlanPort: port?.value ?? DEFAULT_VXLAN_PORT,
    localAddress: host.hostAddress,
    sourceAddress: null,
  };
}

/**
 * The MTU an overlay network's packets fit in once encapsulated: that of this host's interface on the
 * underlay, less the encapsulation's overhead (50 bytes unless an EncapOverhead policy says otherwise).
 * Each host computes its own, so a network from the cluster fits this host's underlay too.
 */
export async function underlayMtu(
  vxlan: OverlaySettings,
  overhead: FieldValue<number> | undefined,
  host: ModeHost,
): Promise<number> {
  const underlay = await host.interfaceMtu(vxlan.localAddress);
  if (underlay === undefined)
    throw new HostnetError(
      "Unavailable",
      `no interface of this host has the underlay address ${vxlan.localAddress} (hostnetd --host-address)`,
    );
  const mtu = underlay - (overhead?.value ?? VXLAN_OVERHEAD);
  if (mtu < MIN_MTU)
    throw invalidArgument(
      overhead?.field ?? "mtu",
      `the underlay's MTU ${underlay} less the overhead leaves ${mtu}, below ${MIN_MTU}`,
    );
  return mtu;
}
