/**
 * Kernel → observed objects: everything that carries hostnet's mark (link alias, name prefix, nft table,
 * element comment), read through the kernel's own JSON. Objects hostnet made whose owner is unknown are
 * reported as "orphan" so a full converge removes them.
 */
import pLimit from "p-limit";
import type { Namespace } from "../model/types.js";
import type { Runner } from "./linux/exec.js";
import { readResolvConfs } from "./linux/resolv-conf.js";
import { readSysctl } from "./linux/sysctl.js";
import {
  DSR_ROUTE_PROTO,
  DSR_VIP_LABEL,
  ifbName,
  isNamespaceNsid,
  isOwnedLinkName,
  namespaceMark,
  NETNS_DIR,
  ownerFromAlias,
  resolvConfOwner,
  RULE_PROTO,
  shortIdOfLink,
  type Owner,
} from "./naming.js";
import { observeNft } from "./observe-nft.js";
import { observePortVlans } from "./observe-vlans.js";
import { MAIN_TABLE, routeMetric, type KernelObject } from "./objects.js";
import { hostCidr } from "../model/ip.js";
import { ipArgv } from "./render/steps.js";
import { hostRouteOf, isAutomaticRoute, type IpRoute } from "./uplink.js";

interface IpLink {
  ifname: string;
  ifalias?: string;
  master?: string;
  mtu: number;
  address?: string;
  linkinfo?: {
    info_kind?: string;
    /** A vxlan device's: its VNI, UDP port and local underlay address (`local6` for IPv6). */
    info_data?: { id?: number; port?: number; local?: string; local6?: string; vlan_filtering?: number };
    info_slave_data?: { hairpin?: boolean; isolated?: boolean };
  };
  addr_info?: {
    family?: string;
    local: string;
    prefixlen: number;
    scope?: string;
    label?: string;
    home?: boolean;
  }[];
}

const ip = (runner: Runner, netns: string | null, args: string[]): Promise<string> =>
  runner.run(ipArgv(netns, ["-j", ...args])).then((r) => r.stdout);

/**
 * Namespaces and overlay devices are read a few at a time: a host with thousands of them must not spawn
 * thousands of processes at once.
 */
const limit = pLimit(8);

const globalAddresses = (l: IpLink): string[] =>
  (l.addr_info ?? [])
    .filter((a) => a.scope !== "link" && a.scope !== "host")
    .map((a) => `${a.local}/${a.prefixlen}`);

/** Routes of hostnetd's namespace through hostnet's bridges, other than the kernel's own. */
async function observeHostRoutes(
  runner: Runner,
  bridges: ReadonlyMap<string, Owner>,
): Promise<KernelObject[]> {
  if (bridges.size === 0) return [];
  const families = [4, 6] as const;
  const shown = await Promise.all(families.map((f) => ip(runner, null, [`-${f}`, "route", "show"])));
  return families.flatMap((family, i) =>
    (JSON.parse(shown[i] ?? "[]") as IpRoute[]).flatMap((r): KernelObject[] => {
      const owner = r.dev === undefined ? undefined : bridges.get(r.dev);
      if (owner === undefined || r.dev === undefined || isAutomaticRoute(r)) return [];
      return [{ kind: "hostRoute", owner, dev: r.dev, route: hostRouteOf(r, family) }];
    }),
  );
}

/** hostnet's DSR routes, by their protocol; whose they are, the reconciler tells from the store. */
async function observeVipRoutes(runner: Runner): Promise<KernelObject[]> {
  const routes = (
    await Promise.all(
      (["-4", "-6"] as const).map(
        async (family) =>
          JSON.parse(
            await ip(runner, null, [family, "route", "show", "proto", String(DSR_ROUTE_PROTO)]),
          ) as (IpRoute & {
            nexthops?: { gateway?: string }[];
          })[],
      ),
    )
  ).flat();
  return routes.map((r) => ({
    kind: "vipRoute",
    owner: "orphan",
    vip: r.dst.split("/")[0] ?? r.dst,
    via: r.nexthops?.flatMap((n) => n.gateway ?? []) ?? (r.gateway === undefined ? [] : [r.gateway]),
  }));
}

async function observeHostLinks(runner: Runner): Promise<KernelObject[]> {
  const links = JSON.parse(await ip(runner, null, ["-d", "addr", "show"])) as IpLink[];
  const out: KernelObject[] = [];
  const bridges = new Map<string, Owner>();
  const filtering = new Set<string>();
  for (const l of links) {
    const owner = ownerFromAlias(l.ifalias);
    if (owner === undefined || l.linkinfo?.info_kind !== "bridge") continue;
    bridges.set(l.ifname, owner);
    if (l.linkinfo.info_data?.vlan_filtering === 1) filtering.add(l.ifname);
  }
  for (const l of links) {
    const owner = ownerFromAlias(l.ifalias) ?? (isOwnedLinkName(l.ifname) ? "orphan" : undefined);
    const bridgeOwner = l.master === undefined ? undefined : bridges.get(l.master);
    // A port of hostnet's bridge that is not hostnet's own link is an uplink it took.
    if (owner === undefined && bridgeOwner !== undefined && l.master !== undefined)
      out.push({ kind: "uplinkPort", owner: bridgeOwner, dev: l.ifname, master: l.master });
    if (owner === undefined) continue;
    const kind = l.linkinfo?.info_kind;
    if (kind === "bridge") {
      out.push({
        kind: "bridge",
        owner,
        name: l.ifname,
        mtu: l.mtu,
        ...(l.address === undefined ? {} : { mac: l.address }),
      });
      for (const cidr of globalAddresses(l))
        out.push({ kind: "address", owner, netns: null, dev: l.ifname, cidr });
      // Both are off by default, and hostnet only ever turns them on.
      for (const key of [
        `net/ipv4/conf/${l.ifname}/route_localnet`,
        `net/ipv6/conf/${l.ifname}/disable_ipv6`,
      ])
        if ((await readSysctl(key)) === "1") out.push({ kind: "sysctl", owner, key, value: "1" });
    } else if (kind === "vxlan") {
      const data = l.linkinfo?.info_data;
      out.push({
        kind: "vxlan",
        owner,
        name: l.ifname,
        vni: data?.id ?? 0,
        port: data?.port ?? 0,
        local: data?.local ?? data?.local6 ?? "",
        master: l.master ?? "",
        mtu: l.mtu,
      });
    } else if (kind === "ifb") {
      out.push({ kind: "ifb", owner, name: l.ifname });
    } else if (kind === "veth") {
      out.push({
        kind: "veth",
        owner,
        name: l.ifname,
        master: l.master ?? "",
        mtu: l.mtu,
        hairpin: l.linkinfo?.info_slave_data?.hairpin === true,
        isolated: l.linkinfo?.info_slave_data?.isolated === true,
        peer: "",
        netns: "",
      });
    }
  }
  return [
    ...out,
    ...(await observePortVlans(runner, out, filtering)),
    ...(await observeHostRoutes(runner, bridges)),
  ];
}

interface TcQdisc {
  kind: string;
  dev: string;
  root?: boolean;
  options?: { rate?: number };
}

/** Shapers and ingress redirects on the host-side devices hostnet owns. */
async function observeTc(runner: Runner, links: readonly KernelObject[]): Promise<KernelObject[]> {
  const owners = new Map(
    links.filter((o) => o.kind === "veth" || o.kind === "ifb").map((o) => [o.name, o.owner]),
  );
  if (owners.size === 0) return [];
  const qdiscs = JSON.parse((await runner.run(["tc", "-j", "qdisc", "show"])).stdout) as TcQdisc[];
  const out: KernelObject[] = [];
  for (const q of qdiscs) {
    const owner = owners.get(q.dev);
    if (owner === undefined) continue;
    if (q.kind === "tbf" && q.root === true)
      out.push({ kind: "shaper", owner, dev: q.dev, bytesPerSecond: q.options?.rate ?? 0 });
    if (q.kind === "clsact")
      out.push({ kind: "ingressRedirect", owner, dev: q.dev, to: ifbName(shortIdOfLink(q.dev) ?? "") });
  }
  return out;
}

/** An entry of `bridge -j fdb show dev VXLAN`: the device's own (`self`, with `dst`) or its bridge's. */
export interface FdbEntry {
  mac: string;
  dst?: string;
  master?: string;
  state?: string;
}

/** An entry of `ip -j neigh show`. */
export interface Neighbour {
  dst: string;
  lladdr?: string;
}

/**
 * The peers of one vxlan device, joined by MAC from its FDB and its bridge's permanent neighbour entries
 * (the only ones there: hostnet puts no other on an overlay bridge). A remote counts only with both of its
 * FDB entries, which a delete removes together. Whose a peer is, the kernel cannot tell: it is an orphan
 * until the reconciler adopts it from the store.
 */
export function peersOf(
  vxlan: string,
  bridge: string,
  fdb: readonly FdbEntry[],
  neighbours: readonly Neighbour[],
): KernelObject[] {
  // The bridge's own entries for the port's address are permanent; a peer's are static.
  const toPort = new Set(fdb.filter((e) => e.master === bridge && e.state === "static").map((e) => e.mac));
  const remotes = new Map<string, string>();
  for (const e of fdb)
    if (e.dst !== undefined && toPort.has(e.mac) && !remotes.has(e.mac)) remotes.set(e.mac, e.dst);
  const addresses = new Map<string, string[]>();
  for (const n of neighbours)
    if (n.lladdr !== undefined) addresses.set(n.lladdr, [...(addresses.get(n.lladdr) ?? []), n.dst]);
  return [...new Set([...remotes.keys(), ...addresses.keys()])].map((mac) => ({
    kind: "overlayPeer",
    owner: "orphan",
    vxlan,
    bridge,
    mac,
    addresses: addresses.get(mac) ?? [],
    remote: remotes.get(mac) ?? "",
  }));
}

async function observePeers(runner: Runner, vxlan: string, bridge: string): Promise<KernelObject[]> {
  const [fdb, neighbours] = await Promise.all([
    limit(() => runner.run(["bridge", "-j", "fdb", "show", "dev", vxlan])).then((r) => r.stdout),
    limit(() => ip(runner, null, ["neigh", "show", "dev", bridge, "nud", "permanent"])),
  ]);
  return peersOf(vxlan, bridge, JSON.parse(fdb) as FdbEntry[], JSON.parse(neighbours) as Neighbour[]);
}

/**
 * The peers of hostnet's vxlan devices. One that lost its bridge lost its peers' bridge entries with it; it
 * is re-created, and they with it.
 */
async function observeOverlayPeers(runner: Runner, links: readonly KernelObject[]): Promise<KernelObject[]> {
  const peers = await Promise.all(
    links.flatMap((o) =>
      o.kind === "vxlan" && o.master !== "" ? [observePeers(runner, o.name, o.master)] : [],
    ),
  );
  return peers.flat();
}

/** A routing rule as `ip -j rule show` prints it. */
interface IpRule {
  priority: number;
  src: string;
  table: string;
  suppress_prefixlen?: number;
  protocol?: string;
}

/** The routing rules hostnet added (by their protocol), as orphans: the reconciler finds their owners. */
function rulesOf(path: string, family: 4 | 6, rules: readonly IpRule[]): KernelObject[] {
  return rules.flatMap((r): KernelObject[] =>
    r.protocol === String(RULE_PROTO)
      ? [
          {
            kind: "routeRule",
            owner: "orphan",
            netns: path,
            family,
            priority: r.priority,
            from: r.src,
            table: r.table === "main" ? MAIN_TABLE : Number(r.table),
            ...(r.suppress_prefixlen === undefined ? {} : { suppressPrefixLength: r.suppress_prefixlen }),
          },
        ]
      : [],
  );
}

/** What a namespace holds of hostnet's, and the alias of its lo ("" without one), which marks one hostnet made. */
async function observeNamespace(
  runner: Runner,
  path: string,
): Promise<{ objects: KernelObject[]; loAlias: string }> {
  const [linksJson, routesJson, rules4, rules6] = await Promise.all([
    ip(runner, path, ["-d", "addr", "show"]),
    ip(runner, path, ["route", "show", "table", "all"]),
    ip(runner, path, ["-4", "rule", "show"]),
    ip(runner, path, ["-6", "rule", "show"]),
  ]);
  const out: KernelObject[] = [];
  const owners = new Map<string, Owner>();
  let loAlias = "";
  for (const l of JSON.parse(linksJson) as IpLink[]) {
    if (l.ifname === "lo") loAlias = l.ifalias ?? "";
    // DSR VIPs: whose they are, the reconciler tells from the store's load balancers.
    if (l.ifname === "lo")
      for (const a of l.addr_info ?? [])
        if (a.label === DSR_VIP_LABEL || (a.family === "inet6" && a.home === true))
          out.push({
            kind: "address",
            owner: "orphan",
            netns: path,
            dev: "lo",
            cidr: `${a.local}/${a.prefixlen}`,
            label: DSR_VIP_LABEL,
          });
    const owner = ownerFromAlias(l.ifalias);
    if (owner === undefined || l.ifname === "lo") continue;
    owners.set(l.ifname, owner);
    out.push({ kind: "containerLink", owner, netns: path, name: l.ifname, mac: l.address ?? "" });
    for (const cidr of globalAddresses(l))
      out.push({ kind: "address", owner, netns: path, dev: l.ifname, cidr });
  }
  for (const r of JSON.parse(routesJson) as (IpRoute & { table?: string })[]) {
    const owner = r.dev === undefined ? undefined : owners.get(r.dev);
    if (owner === undefined || r.gateway === undefined || r.dev === undefined) continue;
    // hostnet routes in main and in tables of its own numbers; a table ip names (local, default, one of
    // rt_tables) holds no route of hostnet's, and is not its to plan.
    const table = r.table === undefined || r.table === "main" ? undefined : Number(r.table);
    if (table !== undefined && !Number.isInteger(table)) continue;
    const family = r.gateway.includes(":") ? 6 : 4;
    // ip prints host routes without their /32 or /128.
    const dst = r.dst === "default" || r.dst.includes("/") ? r.dst : hostCidr(r.dst);
    const metric = routeMetric(family, r.metric);
    out.push({
      kind: "route",
      owner,
      netns: path,
      family,
      dst,
      via: r.gateway,
      dev: r.dev,
      ...(table === undefined ? {} : { table }),
      ...(metric === undefined ? {} : { metric }),
    });
  }
  out.push(
    ...rulesOf(path, 4, JSON.parse(rules4) as IpRule[]),
    ...rulesOf(path, 6, JSON.parse(rules6) as IpRule[]),
  );
  return { objects: out, loAlias };
}

/** Whether lo's alias marks a namespace as this owner's, made by this hostnetd (or one before instances). */
function marks(loAlias: string, owner: Owner, instance: string): boolean {
  const mark = namespaceMark(loAlias);
  return mark?.owner === owner && (mark.instance ?? instance) === instance;
}

/** An entry of `ip -j netns list`: a named namespace and its id in hostnetd's namespace, if it has one. */
interface NetnsEntry {
  name: string;
  id?: number;
}

/**
 * Named namespaces: those the store says hostnet made, by owner; of the rest, only those carrying hostnet's
 * namespace id (a namespace it made whose record is gone) are entered, to read whose they are from their lo.
 * Other namespaces cost nothing but their line in one `ip -j netns list`.
 */
async function observeNetns(
  runner: Runner,
  known: readonly Namespace[],
  instance: string,
): Promise<KernelObject[]> {
  const listed = (await ip(runner, null, ["netns", "list"])).trim();
  const entries = listed === "" ? [] : (JSON.parse(listed) as NetnsEntry[]);
  const byName = new Map(known.filter((ns) => ns.owned).map((ns) => [ns.name, ns]));
  const out: KernelObject[] = [];
  const marked: string[] = [];
  for (const { name, id } of entries) {
    const ns = byName.get(name);
    if (ns !== undefined) out.push({ kind: "netns", owner: `ns:${ns.id}`, name, instance });
    else if (isNamespaceNsid(id)) marked.push(name);
  }
  await Promise.all(
    marked.map((name) =>
      limit(async () => {
        const lo = await ip(runner, `${NETNS_DIR}/${name}`, ["link", "show", "dev", "lo"]).catch(() => "[]");
        const mark = namespaceMark((JSON.parse(lo) as IpLink[])[0]?.ifalias);
        // Another hostnetd's namespace (a test's, a second instance's) is not this one's to remove.
        if (mark !== undefined && (mark.instance ?? instance) === instance)
          out.push({ kind: "netns", owner: mark.owner, name, instance });
      }),
    ),
  );
  return out;
}

/** The resolv.conf files this hostnetd wrote; another's (a test's, a second instance's) are not its to change. */
async function observeResolvConfs(instance: string): Promise<KernelObject[]> {
  return (await readResolvConfs()).flatMap(({ netns, firstLine, rest }): KernelObject[] => {
    const mark = resolvConfOwner(firstLine);
    return mark?.instance === instance
      ? [{ kind: "resolvConf", owner: mark.owner, netns, instance, text: rest }]
      : [];
  });
}

export async function observe(
  runner: Runner,
  namespaces: readonly Namespace[],
  instance: string,
): Promise<KernelObject[]> {
  const global = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"];
  const sysctls = await Promise.all(
    global.map(async (key): Promise<KernelObject> => ({
      kind: "sysctl",
      owner: "global",
      key,
      value: (await readSysctl(key)) ?? "",
    })),
  );
  const [links, netns, nft, inside, vipRoutes, resolvConfs] = await Promise.all([
    observeHostLinks(runner).then(async (l) => {
      const [tc, peers] = await Promise.all([observeTc(runner, l), observeOverlayPeers(runner, l)]);
      return [...l, ...tc, ...peers];
    }),
    observeNetns(runner, namespaces, instance),
    observeNft(runner),
    Promise.all(
      namespaces.map((ns) => limit(() => observeNamespace(runner, ns.path).catch(() => undefined))),
    ),
    observeVipRoutes(runner),
    observeResolvConfs(instance),
  ]);
  const unmarked = new Set(
    namespaces.flatMap((ns, i) => {
      const loAlias = inside[i]?.loAlias;
      return ns.owned && loAlias !== undefined && !marks(loAlias, `ns:${ns.id}`, instance) ? [ns.name] : [];
    }),
  );
  return [
    ...sysctls,
    ...links,
    ...netns.map((o) => (o.kind === "netns" && unmarked.has(o.name) ? { ...o, unmarked: true as const } : o)),
    ...nft,
    ...inside.flatMap((seen) => seen?.objects ?? []),
    ...vipRoutes,
    ...resolvConfs,
  ];
}

/** For each namespace id of hostnetd's namespace, the veths whose peer lives there. */
export async function observePeerNamespaceIds(runner: Runner): Promise<Map<number, string[]>> {
  const veths = JSON.parse(await ip(runner, null, ["link", "show", "type", "veth"])) as (IpLink & {
    link_netnsid?: number;
  })[];
  const out = new Map<number, string[]>();
  for (const l of veths)
    if (l.link_netnsid !== undefined) out.set(l.link_netnsid, [...(out.get(l.link_netnsid) ?? []), l.ifname]);
  return out;
}
