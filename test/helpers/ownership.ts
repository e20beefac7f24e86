/**
 * What hostnet owns in a test's namespaces, read from the kernel by the test itself (not by hostnetd's
 * observer, which a bug could blind the same way as the reconciler), and checked against hostnetd's store:
 * every owned object belongs to a record of the store (no leak), every record has its objects (nothing
 * missing), and no address is given twice.
 */
import { readdir } from "node:fs/promises";
import type { EndpointWire, NamespaceWire, NetworkWire } from "../../src/api/rest/wire.js";
import type { TestDaemon } from "./daemon.js";
import { inNs, must } from "./run.js";

export interface StoreView {
  readonly networks: readonly NetworkWire[];
  readonly endpoints: readonly EndpointWire[];
  readonly namespaces: readonly NamespaceWire[];
  readonly loadBalancers: readonly { readonly ID: string }[];
}

export async function storeView(d: TestDaemon): Promise<StoreView> {
  const [networks, endpoints, namespaces, loadBalancers] = await Promise.all([
    d.ok<NetworkWire[]>("GET", "/networks"),
    d.ok<EndpointWire[]>("GET", "/endpoints"),
    d.ok<NamespaceWire[]>("GET", "/namespaces"),
    d.ok<{ ID: string }[]>("GET", "/loadbalancers"),
  ]);
  return { networks, endpoints, namespaces, loadBalancers };
}

interface Link {
  readonly ns: string;
  readonly name: string;
  readonly alias?: string;
  readonly addresses: readonly string[];
}

/** The kernel as the checks read it: links of the host and of the test's namespaces, and nft comments. */
export interface KernelView {
  readonly hostNs: string;
  readonly links: readonly Link[];
  /** The comment of every element of hostnet's nft tables. */
  readonly comments: readonly string[];
}

interface IpAddr {
  ifname: string;
  ifalias?: string;
  addr_info?: { local: string; scope: string }[];
}

async function linksOf(ns: string): Promise<Link[]> {
  const json = JSON.parse(await must(["ip", "-n", ns, "-j", "-d", "addr", "show"])) as IpAddr[];
  return json.map((l) => ({
    ns,
    name: l.ifname,
    ...(l.ifalias === undefined ? {} : { alias: l.ifalias }),
    addresses: (l.addr_info ?? []).filter((a) => a.scope !== "link").map((a) => a.local),
  }));
}

/** Every string under a `comment` key anywhere in nft's JSON. */
function commentsIn(value: unknown, into: string[]): string[] {
  if (Array.isArray(value)) for (const v of value) commentsIn(v, into);
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value))
      if (k === "comment" && typeof v === "string") into.push(v);
      else commentsIn(v, into);
  return into;
}

/** Reads the host namespace and every namespace whose name starts with `prefix` (the test's). */
export async function kernelView(hostNs: string, prefix: string): Promise<KernelView> {
  const names = (await readdir("/run/netns")).filter((n) => n.startsWith(prefix) && n !== hostNs);
  const links = (await Promise.all([hostNs, ...names].map((ns) => linksOf(ns).catch(() => [])))).flat();
  const ruleset = JSON.parse(await must(inNs(hostNs, ["nft", "-j", "list", "ruleset"]))) as {
    nftables: { set?: { table: string }; map?: { table: string } }[];
  };
  const hostnetSets = ruleset.nftables.filter((e) => (e.set ?? e.map)?.table === "hostnet");
  return { hostNs, links, comments: commentsIn(hostnetSets, []) };
}

const OWNER = /^hostnet:(ep|net|ns|lb):([0-9a-f-]{36})(?:@[0-9a-f]+)?$/;
const COMMENT_OWNER = /^(ep|net|ns|lb):([0-9a-f-]{36})/;
/** The link name prefixes hostnet makes, and the kind of record their short id comes from. */
const OWNED_NAMES: Readonly<Record<string, "ep" | "net">> = {
  "hnv-": "ep",
  "hni-": "ep",
  "hnc-": "ep",
  "hnb-": "net",
  "hnx-": "net",
};

export interface Findings {
  /** Owned objects no record of the store accounts for. */
  readonly leaked: string[];
  /** Records of the store whose kernel objects are not there. */
  readonly missing: string[];
  /** Addresses held by two endpoints at once, in the store or in the kernel. */
  readonly duplicates: string[];
}

const shortId = (id: string): string => id.slice(0, 8);
const nsName = (path: string): string => path.replace(/^\/run\/netns\//, "");

/** Compares the kernel with the store; every list empty is a consistent host. */
export function compare(store: StoreView, kernel: KernelView): Findings {
  const ids = {
    ep: new Set(store.endpoints.map((e) => e.ID)),
    net: new Set(store.networks.map((n) => n.ID)),
    ns: new Set(store.namespaces.map((n) => n.ID)),
    lb: new Set(store.loadBalancers.map((l) => l.ID)),
  };
  const shortIds = {
    ep: new Set(store.endpoints.map((e) => shortId(e.ID))),
    net: new Set(store.networks.map((n) => shortId(n.ID))),
  };
  const nsPath = new Map(store.namespaces.map((n) => [n.ID, n.Path]));
  const leaked: string[] = [];
  for (const link of kernel.links) {
    const where = `${link.ns}/${link.name}`;
    const owner = OWNER.exec(link.alias ?? "");
    const kind = owner?.[1] as keyof typeof ids | undefined;
    if (owner !== null && kind !== undefined && !ids[kind].has(owner[2] ?? ""))
      leaked.push(`${where} (${link.alias ?? ""})`);
    // A container end lives in the namespace its endpoint is attached to, nowhere else.
    if (kind === "ep" && link.ns !== kernel.hostNs && link.name !== "lo") {
      const ep = store.endpoints.find((e) => e.ID === owner?.[2]);
      const path = nsPath.get(ep?.HostComputeNamespace ?? "");
      if (ep !== undefined && (path === undefined || nsName(path) !== link.ns))
        leaked.push(`${where} (${link.alias ?? ""}, attached elsewhere)`);
    }
    const prefix = Object.keys(OWNED_NAMES).find((p) => link.name.startsWith(p));
    const byName = prefix === undefined ? undefined : OWNED_NAMES[prefix];
    if (link.ns === kernel.hostNs && prefix !== undefined && byName !== undefined)
      if (!shortIds[byName].has(link.name.slice(prefix.length))) leaked.push(where);
  }
  for (const comment of kernel.comments) {
    const owner = COMMENT_OWNER.exec(comment);
    const kind = owner?.[1] as keyof typeof ids | undefined;
    if (owner !== null && kind !== undefined && !ids[kind].has(owner[2] ?? ""))
      leaked.push(`nft element "${comment}"`);
  }

  const missing: string[] = [];
  const hostLinks = new Set(kernel.links.filter((l) => l.ns === kernel.hostNs).map((l) => l.name));
  for (const net of store.networks)
    if (!hostLinks.has(`hnb-${shortId(net.ID)}`)) missing.push(`bridge of network ${net.Name}`);
  for (const ep of store.endpoints) {
    const attachedTo = ep.HostComputeNamespace === null ? undefined : nsPath.get(ep.HostComputeNamespace);
    if ((attachedTo !== undefined || ep.Sandbox !== undefined) && !hostLinks.has(ep.HostInterfaceName))
      missing.push(`host veth ${ep.HostInterfaceName} of endpoint ${ep.Name}`);
    if (attachedTo === undefined) continue;
    const end = kernel.links.find((l) => l.ns === nsName(attachedTo) && l.alias === `hostnet:ep:${ep.ID}`);
    const lacking = ep.IpConfigurations.filter((c) => !(end?.addresses ?? []).includes(c.IpAddress));
    if (end === undefined) missing.push(`container end of endpoint ${ep.Name} in ${attachedTo}`);
    else if (lacking.length > 0)
      missing.push(`${lacking.map((c) => c.IpAddress).join(", ")} on endpoint ${ep.Name}`);
  }
  for (const ns of store.namespaces.filter((n) => n.Owned)) {
    const lo = kernel.links.find((l) => l.ns === nsName(ns.Path) && l.name === "lo");
    if (lo?.alias?.startsWith(`hostnet:ns:${ns.ID}`) !== true) missing.push(`namespace ${ns.Name}`);
  }

  const duplicates = [
    ...repeated(store.endpoints.flatMap((e) => e.IpConfigurations.map((c) => c.IpAddress))).map(
      (a) => `${a} (store)`,
    ),
    ...repeated(
      kernel.links
        .filter((l) => l.ns !== kernel.hostNs && OWNER.exec(l.alias ?? "")?.[1] === "ep")
        .flatMap((l) => l.addresses),
    ).map((a) => `${a} (kernel)`),
  ];
  return { leaked, missing, duplicates };
}

/** The values that occur more than once. */
export function repeated(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const v of values) (seen.has(v) ? twice : seen).add(v);
  return [...twice];
}
