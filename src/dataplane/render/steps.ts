/**
 * Plan → steps: each op becomes lines for a runner (hostnetd's `ip -batch`, a namespace's `ip -batch`,
 * `tc -batch`, `bridge -batch`, one `nft -f` transaction, one `iptables-restore` per filter table, a call to
 * firewalld, or a sysctl write). Pure, so tests assert the exact text.
 */
import type { ListenerSpec } from "../../dns/resolver.js";
import { hostCidr } from "../../model/ip.js";
import type { ProxySpec } from "../loopback-proxy.js";
import {
  aliasOf,
  DSR_ROUTE_PROTO,
  namespaceAlias,
  namespaceNsid,
  NETNS_DIR,
  resolvConfMark,
  RULE_PROTO,
} from "../naming.js";
import { firewalldCreateLine, firewalldDeleteLine, firewalldReplaceLine } from "../firewall/firewalld.js";
import { iptablesCreateLines, iptablesDeleteLines } from "../firewall/iptables.js";
import { describe, type IptablesBackend, type KernelObject } from "../objects.js";
import { replaceDestroysChildren, type Op } from "../plan.js";
import { routeLine } from "../uplink.js";
import { nftLines, type NftLine } from "./nft.js";
import { runThrough, sliceCounter, type Pass } from "../slices.js";

type RunnerKey =
  /** `family` 6: `ip -6`, which IPv6 rules need (ip rule takes an address for IPv4 unless told). */
  | { kind: "ip"; netns: string | null; family?: 6 }
  | { kind: "nft" }
  | { kind: "sysctl" }
  | { kind: "tc" }
  | { kind: "bridge" }
  | { kind: "proxy" }
  /** One `iptables-restore` transaction on one filter table. */
  | { kind: "iptables"; backend: IptablesBackend; family: 4 | 6 }
  /** Calls to firewalld's D-Bus interface, one process each. */
  | { kind: "firewalld" }
  /** Files hostnetd writes itself. */
  | { kind: "file" }
  /** hostnetd's resolver's listeners. */
  | { kind: "resolver" };

type ProxyCommand =
  | { readonly action: "open"; readonly spec: ProxySpec }
  | { readonly action: "close"; readonly protocol: "tcp" | "udp"; readonly port: number };

/** A namespace's resolv.conf written whole (`text` with its mark), or removed. */
type FileCommand =
  | { readonly action: "write"; readonly netns: string; readonly text: string }
  | { readonly action: "remove"; readonly netns: string };

export interface Step {
  readonly runner: RunnerKey;
  readonly line: string;
  /** For the loopback proxy: the command itself, so apply does not parse text. */
  readonly proxy?: ProxyCommand;
  /** For files, likewise. */
  readonly file?: FileCommand;
  /** For the resolver, likewise. */
  readonly listener?: ListenerCommand;
  /** For nft, the line's place in the transaction (render/nft.ts nftPhase). */
  readonly nftPhase?: NftLine["phase"];
}

const nft = (lines: readonly NftLine[]): Step[] =>
  lines.map((l) => ({ runner: { kind: "nft" }, line: l.text, nftPhase: l.phase }));

type ListenerCommand =
  | { readonly action: "open"; readonly spec: ListenerSpec }
  | { readonly action: "close"; readonly address: string };

const writeResolvConf = (o: Extract<KernelObject, { kind: "resolvConf" }>): Step => ({
  runner: { kind: "file" },
  line: `write ${describe(o)}`,
  file: { action: "write", netns: o.netns, text: `# ${resolvConfMark(o.owner, o.instance)}\n${o.text}` },
});

/**
 * argv of `ip` inside a namespace. nsenter enters only the network namespace; `ip -n` would also copy the
 * mount table into a new mount namespace, which costs more with every namespace mounted under /run/netns.
 */
export function ipArgv(netns: string | null, args: readonly string[]): string[] {
  return netns === null ? ["ip", ...args] : ["nsenter", `--net=${netns}`, "ip", ...args];
}

const host = (line: string): Step => ({ runner: { kind: "ip", netns: null }, line });
const tc = (line: string): Step => ({ runner: { kind: "tc" }, line });
const bridgeCmd = (line: string): Step => ({ runner: { kind: "bridge" }, line });
const iptables = (o: { backend: IptablesBackend; family: 4 | 6 }, lines: readonly string[]): Step[] =>
  lines.map((line) => ({ runner: { kind: "iptables", backend: o.backend, family: o.family }, line }));
const firewalld = (line: string): Step => ({ runner: { kind: "firewalld" }, line });

/**
 * A token bucket for `bytesPerSecond`: a burst of 50 ms of traffic (at least 16 KiB, enough for TSO
 * segments at low rates) keeps TCP at the limit instead of below it.
 */
function tbf(dev: string, bytesPerSecond: number): string {
  const burst = Math.max(16_384, Math.round(bytesPerSecond / 20));
  return `qdisc replace dev ${dev} root tbf rate ${bytesPerSecond * 8}bit burst ${burst}b latency 100ms`;
}
const inNs = (netns: string, line: string): Step => ({ runner: { kind: "ip", netns }, line });
/** The alias on a namespace's lo that says hostnet made it, for whom, and which hostnetd. */
const markNamespace = (o: Extract<KernelObject, { kind: "netns" }>): Step =>
  inNs(`${NETNS_DIR}/${o.name}`, `link set dev lo alias ${namespaceAlias(o.owner, o.instance)} up`);
const nodad = (cidr: string): string => (cidr.includes(":") ? " nodad" : "");
/** How a labelled address is marked: by its label, or an IPv6 one, which has none, by `home` (naming.ts). */
const dsrMark = (cidr: string, label: string): string => (cidr.includes(":") ? " home" : ` label ${label}`);
const routeDst = (o: { family: 4 | 6; dst: string }): string =>
  o.dst === "default" ? (o.family === 6 ? "::/0" : "0.0.0.0/0") : o.dst;
const routeWhere = (o: { table?: number; metric?: number }): string =>
  `${o.table === undefined ? "" : ` table ${o.table}`}${o.metric === undefined ? "" : ` metric ${o.metric}`}`;
/** A rule's line for its family's `ip`; a rule is told from another one by all of it but the protocol. */
function ruleStep(o: Extract<KernelObject, { kind: "routeRule" }>, action: "add" | "del"): Step {
  const suppress =
    o.suppressPrefixLength === undefined ? "" : ` suppress_prefixlength ${o.suppressPrefixLength}`;
  const line = `rule ${action} from ${o.from} lookup ${o.table}${suppress} pref ${o.priority}`;
  return {
    runner: o.family === 6 ? { kind: "ip", netns: o.netns, family: 6 } : { kind: "ip", netns: o.netns },
    line: action === "add" ? `${line} protocol ${RULE_PROTO}` : line,
  };
}

function createSteps(o: KernelObject): Step[] {
  switch (o.kind) {
    case "netns":
      return [
        host(`netns add ${o.name}`),
        host(`netns set ${o.name} ${String(namespaceNsid(o.owner))}`),
        markNamespace(o),
      ];
    case "bridge":
      return [
        host(`link add ${o.name} mtu ${o.mtu}${o.mac === undefined ? "" : ` address ${o.mac}`} type bridge`),
        host(`link set dev ${o.name} alias ${aliasOf(o.owner)} up`),
      ];
    case "address":
      return [
        o.netns === null
          ? host(`addr replace ${o.cidr} dev ${o.dev}${nodad(o.cidr)}`)
          : inNs(
              o.netns,
              `addr replace ${o.cidr} dev ${o.dev}${o.label === undefined ? "" : dsrMark(o.cidr, o.label)}${nodad(o.cidr)}`,
            ),
      ];
    case "veth":
      return [
        host(
          `link add ${o.name} mtu ${o.mtu} type veth peer name ${o.peer} mtu ${o.mtu} ${o.netns === null ? `address ${o.peerMac ?? ""}` : `netns ${o.netns}`}`,
        ),
        // A bridge port needs no address: without a link-local one it has no IPv6 to set up or tear down.
        host(`link set dev ${o.name} addrgenmode none`),
        host(`link set dev ${o.name} master ${o.master} alias ${aliasOf(o.owner)} up`),
        bridgePortFlags(o),
      ];
    // Every remote MAC is a peer's static entry, so the device learns nothing; with no default destination
    // it sends broadcasts nowhere, and the bridge answers ARP and NDP for the peers from its neighbour
    // entries. Like any bridge port it needs no IPv6 address of its own.
    case "vxlan":
      return [
        host(
          `link add ${o.name} mtu ${o.mtu} type vxlan id ${o.vni} dstport ${o.port} local ${o.local} nolearning`,
        ),
        host(`link set dev ${o.name} addrgenmode none`),
        host(`link set dev ${o.name} master ${o.master} alias ${aliasOf(o.owner)} up`),
        host(`link set dev ${o.name} type bridge_slave neigh_suppress on learning off`),
      ];
    // The vxlan device's own entry sends the MAC to the remote host; the bridge's sends it to the vxlan port
    // instead of flooding it to every port.
    case "overlayPeer":
      return [
        bridgeCmd(`fdb replace ${o.mac} dev ${o.vxlan} dst ${o.remote} self static`),
        bridgeCmd(`fdb replace ${o.mac} dev ${o.vxlan} master static`),
        ...o.addresses.map((a) => host(`neigh replace ${a} lladdr ${o.mac} dev ${o.bridge} nud permanent`)),
      ];
    case "containerLink":
      return [
        ...(o.noLinkLocal6 === true ? [inNs(o.netns, `link set dev ${o.name} addrgenmode none`)] : []),
        inNs(o.netns, `link set dev ${o.name} address ${o.mac} alias ${aliasOf(o.owner)} up`),
      ];
    // The uplink's addresses are on the bridge already; flushing them takes its routes along.
    case "uplinkPort":
      return [
        host(`addr flush dev ${o.dev} scope global`),
        host(`link set dev ${o.dev} master ${o.master} up`),
      ];
    case "hostRoute":
      return [host(routeLine("replace", o.route, o.dev))];
    // VLAN 1 is the bridge's default: added before it is deleted, so that the line cannot fail on a port
    // that lost it already.
    case "portVlan":
      return [
        host(`link set dev ${o.bridge} type bridge vlan_filtering 1`),
        ...(o.uplink === null ? [] : [bridgeCmd(`vlan add dev ${o.uplink} vid ${TRUNK_VIDS}`)]),
        bridgeCmd(`vlan add dev ${o.dev} vid ${o.vid} pvid untagged`),
        bridgeCmd(`vlan add dev ${o.dev} vid ${NATIVE_VID}`),
        bridgeCmd(`vlan del dev ${o.dev} vid ${NATIVE_VID}`),
      ];
    case "ifb":
      return [
        host(`link add ${o.name} type ifb`),
        host(`link set dev ${o.name} alias ${aliasOf(o.owner)} up`),
      ];
    case "shaper":
      return [tc(tbf(o.dev, o.bytesPerSecond))];
    case "ingressRedirect":
      return [
        tc(`qdisc add dev ${o.dev} clsact`),
        tc(`filter add dev ${o.dev} ingress u32 match u32 0 0 action mirred egress redirect dev ${o.to}`),
      ];
    case "route":
      return [inNs(o.netns, `route replace ${routeDst(o)} via ${o.via} dev ${o.dev}${routeWhere(o)}`)];
    case "routeRule":
      return [ruleStep(o, "add")];
    case "vipRoute":
      return [
        host(
          `route replace ${hostCidr(o.vip)} proto ${DSR_ROUTE_PROTO} ${o.via.map((v) => `nexthop via ${v}`).join(" ")}`,
        ),
      ];
    case "sysctl":
      return [{ runner: { kind: "sysctl" }, line: `${o.key}=${o.value}` }];
    case "nftTable":
    case "nftSet":
    case "nftChain":
    case "nftElement":
      return nft(nftLines({ action: "create", object: o }));
    case "loopbackProxy":
      return [{ runner: { kind: "proxy" }, line: `open ${describe(o)}`, proxy: { action: "open", spec: o } }];
    case "resolvConf":
      return [writeResolvConf(o)];
    case "dnsListener":
      return [
        { runner: { kind: "resolver" }, line: `open ${describe(o)}`, listener: { action: "open", spec: o } },
      ];
    case "iptablesChain":
    case "iptablesJump":
      return iptables(o, iptablesCreateLines(o));
    case "firewalldInterface":
      return [firewalld(firewalldCreateLine(o))];
  }
}

function deleteSteps(o: KernelObject): Step[] {
  switch (o.kind) {
    case "netns":
      return [host(`netns del ${o.name}`)];
    case "bridge":
    case "veth":
    case "ifb":
      return [host(`link del dev ${o.name}`)];
    // The device takes its peers' FDB entries along but not their neighbour entries on the bridge (whose
    // permanent ones are all peers'): a plan deletes no peer of a vxlan device that goes, and re-creates
    // only those still wanted.
    case "vxlan":
      return [
        ...(o.master === "" ? [] : [host(`neigh flush dev ${o.master} nud permanent`)]),
        host(`link del dev ${o.name}`),
      ];
    // Only what was observed (`remote` "" is missing and stands for both FDB entries): deleting an entry that
    // is not there fails the whole batch.
    case "overlayPeer":
      return [
        ...(o.remote === ""
          ? []
          : [
              bridgeCmd(`fdb del ${o.mac} dev ${o.vxlan} dst ${o.remote} self`),
              bridgeCmd(`fdb del ${o.mac} dev ${o.vxlan} master`),
            ]),
        ...o.addresses.map((a) => host(`neigh del ${a} dev ${o.bridge}`)),
      ];
    case "shaper":
      return [tc(`qdisc del dev ${o.dev} root`)];
    case "ingressRedirect":
      return [tc(`qdisc del dev ${o.dev} clsact`)];
    case "address":
      return [
        o.netns === null
          ? host(`addr del ${o.cidr} dev ${o.dev}`)
          : inNs(o.netns, `addr del ${o.cidr} dev ${o.dev}`),
      ];
    case "containerLink":
      return [inNs(o.netns, `link del dev ${o.name}`)];
    case "uplinkPort":
      return [host(`link set dev ${o.dev} nomaster`)];
    // The port goes back to the bridge's default; the bridge keeps its filtering and its uplink the trunk.
    case "portVlan":
      return [
        bridgeCmd(`vlan add dev ${o.dev} vid ${NATIVE_VID} pvid untagged`),
        ...strayVlanLines(o.dev, [o.vid, ...o.stray], NATIVE_VID),
      ];
    case "hostRoute":
      return [host(routeLine("del", o.route, o.dev))];
    case "route":
      return [inNs(o.netns, `route del ${routeDst(o)} via ${o.via} dev ${o.dev}${routeWhere(o)}`)];
    case "routeRule":
      return [ruleStep(o, "del")];
    case "vipRoute":
      return [host(`route del ${hostCidr(o.vip)} proto ${DSR_ROUTE_PROTO}`)];
    case "sysctl":
      return [];
    case "nftTable":
    case "nftSet":
    case "nftChain":
    case "nftElement":
      return nft(nftLines({ action: "delete", object: o }));
    case "loopbackProxy":
      return [
        {
          runner: { kind: "proxy" },
          line: `close ${describe(o)}`,
          proxy: { action: "close", protocol: o.protocol, port: o.port },
        },
      ];
    case "resolvConf":
      return [
        {
          runner: { kind: "file" },
          line: `remove ${describe(o)}`,
          file: { action: "remove", netns: o.netns },
        },
      ];
    case "dnsListener":
      return [
        {
          runner: { kind: "resolver" },
          line: `close ${describe(o)}`,
          listener: { action: "close", address: o.address },
        },
      ];
    case "iptablesChain":
    case "iptablesJump":
      return iptables(o, iptablesDeleteLines(o));
    case "firewalldInterface":
      return [firewalld(firewalldDeleteLine(o))];
  }
}

function replaceSteps(from: KernelObject, to: KernelObject): Step[] {
  switch (to.kind) {
    case "bridge":
      return [
        host(`link set dev ${to.name} mtu ${to.mtu}${to.mac === undefined ? "" : ` address ${to.mac}`}`),
      ];
    case "uplinkPort":
      return [host(`link set dev ${to.dev} master ${to.master} up`)];
    case "portVlan":
      return [
        ...createSteps(to),
        ...(from.kind === "portVlan" ? strayVlanLines(to.dev, [from.vid, ...from.stray], to.vid) : []),
      ];
    // Creating again replaces both FDB entries (a new dst takes the old one's place, it is not added) and
    // the neighbour entries of the addresses; those of addresses that went would stay.
    case "overlayPeer":
      return [
        ...(from.kind === "overlayPeer" ? from.addresses : [])
          .filter((a) => !to.addresses.includes(a))
          .map((a) => host(`neigh del ${a} dev ${to.bridge}`)),
        ...createSteps(to),
      ];
    case "hostRoute":
    case "containerLink":
    case "route":
    case "vipRoute":
    case "sysctl":
    case "address":
    case "loopbackProxy":
    case "resolvConf":
    case "dnsListener":
    case "shaper":
    case "iptablesChain":
      return createSteps(to);
    case "firewalldInterface":
      return [firewalld(firewalldReplaceLine(to))];
    case "nftTable":
    case "nftSet":
    case "nftChain":
    case "nftElement":
      return nft(nftLines({ action: "replace", from, object: to }));
    case "veth":
      return replaceDestroysChildren(to, from)
        ? [...deleteSteps(from), ...createSteps(to)]
        : [host(`link set dev ${to.name} master ${to.master} up`), bridgePortFlags(to)];
    // Its processes and interfaces stay: only its mark was missing.
    case "netns":
      return [markNamespace(to)];
    case "ifb":
    case "vxlan":
    case "ingressRedirect":
    case "iptablesJump":
    case "routeRule":
      return [...deleteSteps(from), ...createSteps(to)];
  }
}

/** The uplink's VLANs on a filtering bridge besides the LAN's untagged traffic: every one there is. */
const TRUNK_VIDS = "2-4094";
/** The bridge's default PVID, which the uplink's and the host's untagged traffic is on. */
const NATIVE_VID = 1;

/** Lines that take a port out of each of `vids` but `keep` (0 stands for no PVID, and is no VLAN). */
const strayVlanLines = (dev: string, vids: readonly number[], keep: number): Step[] =>
  vids
    .filter((v) => v !== keep && v !== 0 && v !== NATIVE_VID)
    .map((v) => bridgeCmd(`vlan del dev ${dev} vid ${v}`));

/** A veth's flags as a port of its bridge, which it loses when it leaves the bridge. */
const bridgePortFlags = (o: Extract<KernelObject, { kind: "veth" }>): Step =>
  host(
    `link set dev ${o.name} type bridge_slave hairpin ${o.hairpin ? "on" : "off"} isolated ${o.isolated ? "on" : "off"}`,
  );

function opSteps(op: Op): Step[] {
  switch (op.action) {
    case "create":
      return createSteps(op.object);
    case "delete":
      return deleteSteps(op.object);
    case "replace":
      return replaceSteps(op.from, op.object);
  }
}

/**
 * Each op's lines, in plan order; but consecutive overlay peers give all their FDB lines first, then all
 * their neighbour lines: one `bridge` and one `ip` process for a thousand peers, not two thousand. A peer's
 * entries need only its vxlan device and bridge, made before it, never another peer's. The nft lines, one
 * transaction, are in the order of their phases (render/nft.ts nftPhase), plan order within a phase.
 */
export function steps(ops: readonly Op[]): Step[] {
  return runThrough(stepsPass(ops));
}

/** steps, pausing between slices of ops and of steps (slices.ts). */
export function* stepsPass(ops: readonly Op[]): Pass<Step[]> {
  const due = sliceCounter();
  return yield* nftInPhaseOrder(yield* inPlanOrder(ops, due), due);
}

/**
 * The nft steps in the order of their phases, plan order within a phase, in the places the nft steps held:
 * the other runners' steps stay where they are.
 */
function* nftInPhaseOrder(all: readonly Step[], due: () => boolean): Pass<Step[]> {
  // By phase: holes where a phase has no step.
  const phases: (Step[] | undefined)[] = [];
  for (const s of all) {
    if (due()) yield;
    if (s.nftPhase !== undefined) (phases[s.nftPhase] ??= []).push(s);
  }
  const nft = phases.flatMap((p) => p ?? []);
  let next = 0;
  const out: Step[] = [];
  for (const s of all) {
    if (due()) yield;
    out.push(s.nftPhase === undefined ? s : (nft[next++] ?? s));
  }
  return out;
}

function* inPlanOrder(ops: readonly Op[], due: () => boolean): Pass<Step[]> {
  const out: Step[] = [];
  let neighbours: Step[] = [];
  for (const op of ops) {
    if (due()) yield;
    const lines = opSteps(op);
    if (op.object.kind === "overlayPeer") {
      out.push(...lines.filter((s) => s.runner.kind === "bridge"));
      neighbours.push(...lines.filter((s) => s.runner.kind !== "bridge"));
    } else {
      out.push(...neighbours, ...lines);
      neighbours = [];
    }
  }
  return [...out, ...neighbours];
}

export interface Batch {
  readonly runner: RunnerKey;
  readonly lines: readonly string[];
  readonly proxy: readonly ProxyCommand[];
  /** Only on a batch of files. */
  readonly files?: readonly FileCommand[];
  /** Only on a batch of the resolver's. */
  readonly listeners?: readonly ListenerCommand[];
}

/** Runner keys are plain data: two steps share a runner when their keys say the same. */
const runnerName = (r: RunnerKey): string => JSON.stringify(r);

/** Runners whose lines are one transaction that depends on no link: each joins its first batch. */
const isTransaction = (r: RunnerKey): boolean => r.kind === "nft" || r.kind === "iptables";

/**
 * Consecutive steps for one runner become one batch. All nft lines join the first nft batch, and all lines
 * for one iptables table its first batch: each is one transaction, and names links only as text.
 */
export function batches(all: readonly Step[]): Batch[] {
  return runThrough(batchesPass(all));
}

/** batches, pausing between slices of steps (slices.ts). */
export function* batchesPass(all: readonly Step[]): Pass<Batch[]> {
  const due = sliceCounter();
  const out: {
    runner: RunnerKey;
    lines: string[];
    proxy: ProxyCommand[];
    files?: FileCommand[];
    listeners?: ListenerCommand[];
  }[] = [];
  const transactions = new Map<string, (typeof out)[number]>();
  for (const s of all) {
    if (due()) yield;
    const name = runnerName(s.runner);
    const last = out.at(-1);
    let batch = isTransaction(s.runner)
      ? transactions.get(name)
      : last !== undefined && runnerName(last.runner) === name
        ? last
        : undefined;
    if (batch === undefined) {
      batch = { runner: s.runner, lines: [], proxy: [] };
      out.push(batch);
      if (isTransaction(s.runner)) transactions.set(name, batch);
    }
    batch.lines.push(s.line);
    if (s.proxy !== undefined) batch.proxy.push(s.proxy);
    if (s.file !== undefined) (batch.files ??= []).push(s.file);
    if (s.listener !== undefined) (batch.listeners ??= []).push(s.listener);
  }
  return out;
}
