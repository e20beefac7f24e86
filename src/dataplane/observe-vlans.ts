/**
 * The VLANs of the ports of hostnet's filtering bridges (portVlan objects), from the bridge's VLAN table:
 * one `bridge vlan show` when a bridge of hostnet's filters VLANs, none otherwise.
 */
import type { Runner } from "./linux/exec.js";
import type { KernelObject } from "./objects.js";

/**
 * A port's VLANs as `bridge -j -compressvlans vlan show` prints them: a range has `vlanEnd`. (`-c` is
 * `-color` to iproute2 6.1.)
 */
export interface PortVlans {
  ifname: string;
  vlans?: { vlan: number; vlanEnd?: number; flags?: string[] }[];
}

const TRUNK_FIRST = 2;
const TRUNK_LAST = 4094;

/** Whether a port is a member of every VLAN from 2 to 4094, as ranges or one by one. */
function isTrunk(vlans: NonNullable<PortVlans["vlans"]>): boolean {
  let covered = 0;
  for (const v of vlans)
    covered += Math.max(0, Math.min(v.vlanEnd ?? v.vlan, TRUNK_LAST) - Math.max(v.vlan, TRUNK_FIRST) + 1);
  return covered === TRUNK_LAST - TRUNK_FIRST + 1;
}

/**
 * The portVlan objects of the veths of `filtering` bridges whose VLANs are not the bridge's default (VLAN 1
 * alone, PVID and untagged): each is owned by its veth's owner.
 */
export function portVlansOf(
  table: readonly PortVlans[],
  links: readonly KernelObject[],
  filtering: ReadonlySet<string>,
): KernelObject[] {
  const vlansOf = new Map(table.map((p) => [p.ifname, p.vlans ?? []]));
  const trunkOf = new Map<string, string>();
  for (const l of links)
    if (l.kind === "uplinkPort" && filtering.has(l.master) && isTrunk(vlansOf.get(l.dev) ?? []))
      trunkOf.set(l.master, l.dev);
  const out: KernelObject[] = [];
  for (const l of links) {
    if (l.kind !== "veth" || !filtering.has(l.master)) continue;
    const vlans = vlansOf.get(l.name) ?? [];
    const isPvid = (v: { flags?: string[] }): boolean =>
      v.flags?.includes("PVID") === true && v.flags.includes("Egress Untagged");
    const pvid = vlans.find(isPvid)?.vlan ?? 0;
    const defaultOnly = vlans.length === 1 && pvid === 1 && vlans[0]?.vlanEnd === undefined;
    if (defaultOnly) continue;
    const stray = vlans
      .filter((v) => !isPvid(v))
      .flatMap((v) => Array.from({ length: (v.vlanEnd ?? v.vlan) - v.vlan + 1 }, (_, i) => v.vlan + i));
    out.push({
      kind: "portVlan",
      owner: l.owner,
      dev: l.name,
      bridge: l.master,
      uplink: trunkOf.get(l.master) ?? null,
      vid: pvid,
      stray,
    });
  }
  return out;
}

export async function observePortVlans(
  runner: Runner,
  links: readonly KernelObject[],
  filtering: ReadonlySet<string>,
): Promise<KernelObject[]> {
  if (filtering.size === 0) return [];
  const table = JSON.parse(
    (await runner.run(["bridge", "-j", "-compressvlans", "vlan", "show"])).stdout,
  ) as PortVlans[];
  return portVlansOf(table, links, filtering);
}
