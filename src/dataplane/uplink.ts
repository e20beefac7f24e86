/**
 * The uplink NIC of a network on the physical LAN, as hostnetd's namespace has it: read before a network
 * takes it (its addresses and routes move to the network's bridge), and given back when the network goes.
 * The NIC is not hostnet's: hostnet never deletes it, and gives it back exactly what it had.
 */
import type { HostRoute, UplinkSnapshot } from "../model/types.js";
import type { Runner } from "./linux/exec.js";
import { isOwnedLinkName } from "./naming.js";

interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  master?: string;
  flags?: string[];
  link_type?: string;
  addr_info?: { local: string; prefixlen: number; scope?: string; family?: string }[];
}

/** A route as `ip -j route` prints it. */
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  type?: string;
  flags?: string[];
}

/** Why a NIC cannot be an uplink, or its snapshot. */
export type UplinkInspection =
  | { readonly usable: false; readonly why: string }
  | { readonly usable: true; readonly snapshot: UplinkSnapshot };

export interface UplinkHost {
  inspect(dev: string): Promise<UplinkInspection>;
  /** Gives the NIC back what it had; idempotent, so it may run again after a crash. */
  restore(snapshot: UplinkSnapshot): Promise<void>;
}

/** Routes the kernel makes by itself for an address or a link (connected, link-local, multicast). */
export const isAutomaticRoute = (r: { dst: string; protocol?: string; type?: string }): boolean =>
  r.protocol === "kernel" ||
  (r.type !== undefined && r.type !== "unicast") ||
  r.dst.startsWith("fe80::") ||
  r.dst.startsWith("ff00::");

function hostRoutes(json: string, family: 4 | 6): HostRoute[] {
  return (JSON.parse(json) as IpRoute[])
    .filter((r) => !isAutomaticRoute(r))
    .map((r) => hostRouteOf(r, family));
}

/** A route of `ip -j route` in hostnet's terms. */
export function hostRouteOf(r: IpRoute, family: 4 | 6): HostRoute {
  const route = { family, dst: r.dst, via: r.gateway ?? null, metric: r.metric ?? null };
  return r.flags?.includes("onlink") === true ? { ...route, onlink: true } : route;
}

export function routeLine(verb: "replace" | "del", r: HostRoute, dev: string): string {
  const dst = r.dst === "default" ? (r.family === 6 ? "::/0" : "0.0.0.0/0") : r.dst;
  const via = r.via === null ? "" : ` via ${r.via}`;
  const metric = r.metric === null ? "" : ` metric ${r.metric}`;
  return `route ${verb} ${dst}${via} dev ${dev}${metric}${r.onlink === true && verb === "replace" ? " onlink" : ""}`;
}

/** The ip -batch lines that give an uplink back its state; every line is idempotent. */
function restoreLines(s: UplinkSnapshot): string[] {
  return [
    `link set dev ${s.dev} nomaster`,
    `link set dev ${s.dev} mtu ${s.mtu}`,
    `link set dev ${s.dev} ${s.up ? "up" : "down"}`,
    ...s.addresses.map((cidr) => `addr replace ${cidr} dev ${s.dev}${cidr.includes(":") ? " nodad" : ""}`),
    ...(s.up ? s.routes.map((r) => routeLine("replace", r, s.dev)) : []),
  ];
}

export function linuxUplinks(runner: Runner): UplinkHost {
  return {
    async inspect(dev) {
      const shown = await runner.run(["ip", "-j", "addr", "show", "dev", dev]).catch(() => undefined);
      const link = shown === undefined ? undefined : (JSON.parse(shown.stdout) as IpLink[])[0];
      if (link === undefined) return { usable: false, why: `there is no interface ${dev}` };
      if (link.link_type !== "ether") return { usable: false, why: `${dev} is not an Ethernet interface` };
      if (isOwnedLinkName(dev)) return { usable: false, why: `${dev} is one of hostnet's own interfaces` };
      if (link.master !== undefined)
        return { usable: false, why: `${dev} is already a port of ${link.master}` };
      const [v4, v6] = await Promise.all([
        runner.run(["ip", "-j", "-4", "route", "show", "dev", dev]),
        runner.run(["ip", "-j", "-6", "route", "show", "dev", dev]),
      ]);
      return {
        usable: true,
        snapshot: {
          dev,
          mac: link.address ?? "",
          mtu: link.mtu,
          up: link.flags?.includes("UP") === true,
          addresses: (link.addr_info ?? [])
            .filter((a) => a.scope === "global")
            .map((a) => `${a.local}/${a.prefixlen}`),
          routes: [...hostRoutes(v4.stdout, 4), ...hostRoutes(v6.stdout, 6)],
        },
      };
    },
    async restore(snapshot) {
      await runner.run(["ip", "-batch", "-"], `${restoreLines(snapshot).join("\n")}\n`);
    },
  };
}
