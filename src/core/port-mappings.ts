/**
 * Endpoints' port mappings: checked against the network and each other, recorded with every host port
 * unique on the host, and replaced as a whole (Docker publishes a container's ports in one call).
 */
import { conflict, invalidArgument } from "../errors.js";
import { checkLength, limits } from "../model/limits.js";
import { familyOfAddress, parseIp, specialRangeOfIp } from "../model/ip.js";
import type { Endpoint, Network, PortMapping, Protocol } from "../model/types.js";
import { modes } from "../modes/index.js";
import { getEndpoint, getNetwork, type Core } from "./context.js";
import { endpointChanged } from "./record.js";
import { checkPort } from "./validate.js";
import type { PortMappingSpec } from "./specs.js";

/** A mapping as the store keeps it, and the request field it came from. */
export interface CheckedMapping {
  readonly field: string;
  readonly mapping: PortMapping;
}

/** The mappings of a request, checked: the network takes them, and no host port is mapped twice. */
export function checkPortMappings(specs: readonly PortMappingSpec[], net: Network): CheckedMapping[] {
  if (specs.length > 0 && !modes[net.type].portMappings)
    throw invalidArgument(specs[0]?.field ?? "policies", `${net.type} networks do not support port mappings`);
  checkLength(specs, limits.portMappings, "port mappings");
  const checked: CheckedMapping[] = [];
  for (const m of specs) {
    const hostPort = checkPort(m.hostPort.field, m.hostPort.value);
    const internalPort = checkPort(m.internalPort.field, m.internalPort.value);
    const hostIp = boundAddress(m);
    // ::1 is relayed in userland and reaches an IPv4-only endpoint too; any other bound address needs a
    // subnet of its family to DNAT to.
    if (hostIp !== null && hostIp !== "::1" && !net.subnets.some((s) => s.family === familyOfAddress(hostIp)))
      throw invalidArgument(
        m.hostIp?.field ?? m.field,
        `network "${net.name}" has no subnet of ${hostIp}'s family`,
      );
    const twice = checked.some(
      ({ mapping: o }) =>
        o.protocol === m.protocol &&
        o.hostPort === hostPort &&
        (o.hostIp === null || hostIp === null || o.hostIp === hostIp),
    );
    if (twice) throw conflict(`${m.field}: host port ${hostPort}/${m.protocol} is mapped twice`, m.field);
    checked.push({ field: m.field, mapping: { protocol: m.protocol, hostIp, hostPort, internalPort } });
  }
  return checked;
}

/**
 * Records mappings inside a store transaction, refusing a host port another endpoint has, or a NodePort load
 * balancer, which serves its port on every address of the host (and would take the mapping's connections:
 * the skeleton matches NodePorts first).
 */
export function insertPortMappings(
  core: Core,
  endpointId: string,
  mappings: readonly CheckedMapping[],
): void {
  for (const { field, mapping: m } of mappings) {
    const clash = core.store.endpoints.conflictingPortMapping(m.protocol, m.hostPort, m.hostIp ?? "");
    if (clash !== undefined)
      throw conflict(
        `${field}: host port ${m.hostIp ?? "*"}:${m.hostPort}/${m.protocol} is already mapped`,
        field,
      );
    const nodePort = core.store.loadBalancers.withNodePort(m.protocol, m.hostPort);
    if (nodePort !== undefined)
      throw conflict(
        `${field}: host port ${m.hostPort}/${m.protocol} is a NodePort of load balancer "${nodePort.name}"`,
        field,
      );
    core.store.endpoints.insertPortMapping(endpointId, m);
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
    core.store.endpoints.deletePortMappings(ep.id);
    insertPortMappings(core, ep.id, mappings);
  });
  await core.convergeOrUndo([`ep:${ep.id}`], () => {
    core.store.endpoints.deletePortMappings(ep.id);
    for (const m of ep.portMappings) core.store.endpoints.insertPortMapping(ep.id, m);
  });
  const changed = getEndpoint(core, ep.id);
  endpointChanged(core, "update", changed, {
    PortMappings: changed.portMappings.map(
      (m) => `${m.hostIp === null ? "" : `${m.hostIp}:`}${m.hostPort}:${m.internalPort}/${m.protocol}`,
    ),
  });
  return changed;
}

/**
 * The host address a mapping is bound to; none (every address) also for 0.0.0.0 and ::, as Docker reads -p.
 * A loopback address is the host's own (see docs/nat.md); a multicast or broadcast one is no host's.
 */
function boundAddress(m: PortMappingSpec): string | null {
  if (m.hostIp === undefined || m.hostIp.value === "") return null;
  const ip = parseIp(m.hostIp.field, m.hostIp.value);
  if (ip.value === 0n) return null;
  const special = specialRangeOfIp(ip);
  if (special?.kind === "multicast" || special?.kind === "broadcast" || special?.kind === "unspecified")
    throw invalidArgument(m.hostIp.field, `${ip.address} is ${special.what}, no address of this host`);
  return ip.address;
}

/**
 * Whether an endpoint other than `exceptEndpoint` has the host port on `hostIp` (every address if undefined),
 * or a NodePort load balancer has it on every address.
 */
export const hostPortTaken = (
  core: Core,
  mapping: { readonly protocol: Protocol; readonly hostPort: number; readonly hostIp: string | undefined },
  exceptEndpoint: string,
): boolean =>
  core.store.endpoints.conflictingPortMapping(
    mapping.protocol,
    mapping.hostPort,
    mapping.hostIp ?? "",
    exceptEndpoint,
  ) !== undefined || core.store.loadBalancers.withNodePort(mapping.protocol, mapping.hostPort) !== undefined;
