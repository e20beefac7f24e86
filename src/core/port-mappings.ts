/**
 * Endpoints' port mappings: checked against the network and each other, recorded with every host port
 * unique on the host, and replaced as a whole (Docker publishes a container's ports in one call).
 */
import { conflict, invalidArgument } from "../errors.js";
import { familyOfAddress, parseIp } from "../model/ip.js";
import type { Endpoint, Network, Protocol } from "../model/types.js";
import { modes } from "../modes/index.js";
import { getEndpoint, getNetwork, type Core } from "./context.js";
import { checkPort } from "./validate.js";
import type { PortMappingSpec } from "./specs.js";

/** The mappings of a request, checked: the network takes them, and no host port is mapped twice. */
export function checkPortMappings(specs: readonly PortMappingSpec[], net: Network): PortMappingSpec[] {
  if (specs.length > 0 && !modes[net.type].portMappings)
    throw invalidArgument(specs[0]?.field ?? "policies", `${net.type} networks do not support port mappings`);
  const seen: { protocol: Protocol; hostPort: number; hostIp: string | undefined }[] = [];
  return specs.map((m) => {
    checkPort(`${m.field}.ExternalPort`, m.hostPort);
    checkPort(`${m.field}.InternalPort`, m.internalPort);
    const hostIp = boundAddress(m);
    // ::1 is relayed in userland and reaches an IPv4-only endpoint too; any other bound address needs a
    // subnet of its family to DNAT to.
    if (
      hostIp !== undefined &&
      hostIp !== "::1" &&
      !net.subnets.some((s) => s.family === familyOfAddress(hostIp))
    )
      throw invalidArgument(`${m.field}.VIP`, `network "${net.name}" has no subnet of ${hostIp}'s family`);
    const twice = seen.some(
      (o) =>
        o.protocol === m.protocol &&
        o.hostPort === m.hostPort &&
        (o.hostIp === undefined || hostIp === undefined || o.hostIp === hostIp),
    );
    if (twice) throw conflict(`${m.field}: host port ${m.hostPort}/${m.protocol} is mapped twice`, m.field);
    seen.push({ protocol: m.protocol, hostPort: m.hostPort, hostIp });
    const base = { field: m.field, protocol: m.protocol, hostPort: m.hostPort, internalPort: m.internalPort };
    return hostIp === undefined ? base : { ...base, hostIp };
  });
}

/** Records mappings inside a store transaction, refusing a host port another endpoint has. */
export function insertPortMappings(
  core: Core,
  endpointId: string,
  mappings: readonly PortMappingSpec[],
): void {
  for (const m of mappings) {
    const clash = core.store.conflictingPortMapping(m.protocol, m.hostPort, m.hostIp ?? "");
    if (clash !== undefined)
      throw conflict(
        `${m.field}: host port ${m.hostIp ?? "*"}:${m.hostPort}/${m.protocol} is already mapped`,
        m.field,
      );
    core.store.insertPortMapping(endpointId, { ...m, hostIp: m.hostIp ?? null });
  }
}

/** Replaces an endpoint's port mappings in one step: all of them reach the kernel, or none. */
export async function setPortMappings(
  core: Core,
  ref: string,
  specs: readonly PortMappingSpec[],
): Promise<Endpoint> {
  const ep = getEndpoint(core, ref);
  const mappings = checkPortMappings(specs, getNetwork(core, ep.networkId));
  core.store.write(() => {
    core.store.deletePortMappings(ep.id);
    insertPortMappings(core, ep.id, mappings);
  });
  await core.convergeOrUndo([`ep:${ep.id}`], () => {
    core.store.deletePortMappings(ep.id);
    for (const m of ep.portMappings) core.store.insertPortMapping(ep.id, m);
  });
  return getEndpoint(core, ep.id);
}

/** The host address a mapping is bound to; none (every address) also for 0.0.0.0 and ::, as Docker reads -p. */
function boundAddress(m: PortMappingSpec): string | undefined {
  if (m.hostIp === undefined || m.hostIp === "") return undefined;
  const ip = parseIp(`${m.field}.VIP`, m.hostIp);
  return ip.value === 0n ? undefined : ip.address;
}

/** Whether an endpoint other than `exceptEndpoint` has the host port on `hostIp` (every address if undefined). */
export const hostPortTaken = (
  core: Core,
  mapping: { readonly protocol: Protocol; readonly hostPort: number; readonly hostIp: string | undefined },
  exceptEndpoint: string,
): boolean =>
  core.store.conflictingPortMapping(
    mapping.protocol,
    mapping.hostPort,
    mapping.hostIp ?? "",
    exceptEndpoint,
  ) !== undefined;
