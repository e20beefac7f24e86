/**
 * Facts the kernel reports that are not hostnet's objects: prefixes already in use in hostnetd's namespace,
 * the MTU of the interface on the underlay, the addresses of an interface in a container's namespace, and
 * what a path a runtime hands in as a namespace really is.
 */
import { readFileSync, readlinkSync, statfsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parsePrefix, type Prefix } from "../model/ip.js";
import type { Runner } from "./linux/exec.js";
import { ipArgv } from "./render/steps.js";

interface Route {
  dst: string;
  type?: string;
}
interface Link {
  ifname?: string;
  mtu?: number;
  addr_info?: { local: string; prefixlen: number }[];
}
interface DefaultRoute {
  gateway?: string;
  dev?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

/** An address the host needs to stay reachable: one of its own, or a default gateway. */
export interface HostAddress {
  readonly address: string;
  /** What it is, for messages: "an address of eth0", "the default gateway (via eth0)". */
  readonly what: string;
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

/** The addresses of hostnetd's namespace and its default gateways (IPv4 and IPv6, every table). */
export async function hostAddresses(runner: Runner): Promise<HostAddress[]> {
  const [links, routes4, routes6] = await Promise.all([
    runner.run(["ip", "-j", "addr", "show"]),
    runner.run(["ip", "-j", "-4", "route", "show", "default", "table", "all"]),
    runner.run(["ip", "-j", "-6", "route", "show", "default", "table", "all"]),
  ]);
  const own = (JSON.parse(links.stdout) as Link[]).flatMap((l) =>
    (l.addr_info ?? []).map((a) => ({ address: a.local, what: `an address of ${l.ifname ?? "this host"}` })),
  );
  const gateways = [routes4, routes6].flatMap(({ stdout }) =>
    (JSON.parse(stdout) as DefaultRoute[])
      .flatMap((r) => [r, ...(r.nexthops ?? [])])
      .flatMap((hop) =>
        hop.gateway === undefined
          ? []
          : [
              {
                address: hop.gateway,
                what: `the default gateway${hop.dev === undefined ? "" : ` (via ${hop.dev})`}`,
              },
            ],
      ),
  );
  return [...own, ...gateways];
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

/** What a path given as a network namespace is. */
export type NamespaceAtPath = "missing" | "not-a-network-namespace" | "hostnetd's own" | "network namespace";

/** statfs(2)'s f_type of the namespace filesystem, which every namespace file (and bind mount of one) is on. */
const NSFS_MAGIC = 0x6e736673;
/** How /proc names a namespace: `net:[4026531833]`, the inode being the namespace's id whatever its type. */
const NAMESPACE_NAME = /^(\w+):\[(\d+)\]$/;

/**
 * Whether the file at `path` is a network namespace, and which: no process is spawned, for every CNI ADD
 * asks. A namespace file is on nsfs; its inode tells one namespace from another (and from hostnetd's own);
 * its type is in its name, which /proc's links (`/proc/PID/ns/net`) give and the mount table gives for a
 * bind mount (`/run/netns/NAME`).
 */
export function namespaceAt(path: string): NamespaceAtPath {
  let inode: bigint;
  try {
    if (statfsSync(path).type !== NSFS_MAGIC) return "not-a-network-namespace";
    inode = statSync(path, { bigint: true }).ino;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "not-a-network-namespace";
  }
  if (inode === statSync("/proc/self/ns/net", { bigint: true }).ino) return "hostnetd's own";
  return namespaceType(path, inode) === "net" ? "network namespace" : "not-a-network-namespace";
}

function namespaceType(path: string, inode: bigint): string | undefined {
  const linked = NAMESPACE_NAME.exec(linkTarget(path));
  if (linked !== null) return linked[1];
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => NAMESPACE_NAME.exec(line.split(" ")[3] ?? ""))
    .find((name) => name !== null && name[2] === String(inode));
  return mounted?.[1];
}

/** Where a chain of symbolic links ends: a /proc namespace link reads as the namespace's name. */
function linkTarget(path: string, hops = 8): string {
  let target: string;
  try {
    target = readlinkSync(path);
  } catch {
    return path;
  }
  return NAMESPACE_NAME.test(target) || hops === 0
    ? target
    : linkTarget(resolve(dirname(path), target), hops - 1);
}
