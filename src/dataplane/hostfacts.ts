/**
 * Facts the kernel reports that are not hostnet's objects: prefixes already in use in hostnetd's namespace,
 * the MTU of the interface on the underlay, and the addresses of an interface in a container's namespace.
 */
import { parsePrefix, type Prefix } from "../model/ip.js";
import type { Runner } from "./linux/exec.js";
import { ipArgv } from "./render/steps.js";

interface Route {
  dst: string;
  type?: string;
}
interface Link {
  mtu?: number;
  addr_info?: { local: string; prefixlen: number }[];
}

/** The MTU of the interface that has `address`, if one has. */
export async function interfaceMtu(runner: Runner, address: string): Promise<number | undefined> {
  const links = JSON.parse((await runner.run(["ip", "-j", "addr", "show"])).stdout) as Link[];
  return links.find((l) => l.addr_info?.some((a) => a.local === address) === true)?.mtu;
}

/** The addresses (CIDRs) of interface `ifname` in namespace `netns`; undefined when it does not exist. */
export async function interfaceAddresses(
  runner: Runner,
  netns: string,
  ifname: string,
): Promise<string[] | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await runner.run(ipArgv(netns, ["-j", "addr", "show", "dev", ifname])));
  } catch {
    return undefined;
  }
  return cidrsOf(JSON.parse(stdout) as Link[]);
}

export async function hostPrefixes(runner: Runner): Promise<Prefix[]> {
  const [routes, links] = await Promise.all([
    runner.run(["ip", "-j", "-4", "route", "show", "table", "all"]),
    runner.run(["ip", "-j", "-4", "addr", "show"]),
  ]);
  const cidrs = [
    ...(JSON.parse(routes.stdout) as Route[])
      .filter((r) => r.dst !== "default" && r.type !== "broadcast" && r.type !== "local")
      .map((r) => (r.dst.includes("/") ? r.dst : `${r.dst}/32`)),
    ...cidrsOf(JSON.parse(links.stdout) as Link[]),
  ];
  return cidrs.flatMap((c) => {
    try {
      return [parsePrefix("route", c)];
    } catch {
      return [];
    }
  });
}

const cidrsOf = (links: readonly Link[]): string[] =>
  links.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
