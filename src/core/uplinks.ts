/**
 * Uplink NICs, which networks on the physical LAN take into their bridge: one network's at most, read as
 * they are when taken, and given back what they had when the network goes.
 */
import { conflict, invalidArgument } from "../errors.js";
import { hostRange, ipFromValue, parsePrefix } from "../model/ip.js";
import type { UplinkSnapshot } from "../model/types.js";
import type { Core } from "./context.js";
import type { AdapterSpec } from "./specs.js";
import type { ParsedSubnet } from "./subnets.js";

/** Refuses an uplink another network holds: a NIC is a port of one bridge at most. */
export function checkUplinkFree(core: Core, adapter: AdapterSpec): void {
  const holder = core.store.networks.all().find((n) => n.adapter === adapter.name);
  if (holder !== undefined)
    throw conflict(
      `${adapter.field}: ${adapter.name} is the uplink of network "${holder.name}"`,
      adapter.field,
    );
}

/** The uplink NIC as it is now, refused when another network holds it or it cannot be an uplink. */
export async function takeUplink(core: Core, adapter: AdapterSpec): Promise<UplinkSnapshot> {
  checkUplinkFree(core, adapter);
  const inspected = await core.host.uplinks.inspect(adapter.name);
  if (!inspected.usable) throw invalidArgument(adapter.field, inspected.why);
  return inspected.snapshot;
}

/**
 * Gives uplinks back what they had where a network was deleted but hostnetd stopped before it could;
 * runs after the start-up converge has removed their bridges.
 */
export async function restoreUplinks(core: Core): Promise<void> {
  for (const snapshot of core.store.networks.uplinkRestores()) {
    await core.host.uplinks.restore(snapshot);
    core.store.write(() => core.store.networks.deleteUplinkRestore(snapshot.dev));
  }
}

/** The LAN an uplink is on: the prefix of its first IPv4 address, the gateway its default route names. */
export function lanSubnet(uplink: UplinkSnapshot): ParsedSubnet {
  const address = uplink.addresses.find((a) => !a.includes(":"));
  if (address === undefined)
    throw invalidArgument(
      "subnets",
      `${uplink.dev} has no IPv4 address to tell the LAN's subnet by; give the subnet`,
    );
  const prefix = parsePrefix("subnets", address);
  const router = uplink.routes.find((r) => r.family === 4 && r.dst === "default")?.via;
  return { prefix, gateway: router ?? ipFromValue(4, hostRange(prefix).first) };
}
