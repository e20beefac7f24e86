/**
 * An endpoint's ACLs as set elements, the same for every network type.
 *
 * Rules are not chains of their own: on this kernel every nft transaction that adds a rule or a jump
 * re-validates every chain reachable from the table's base chains, so with per-endpoint chains one more
 * rule cost time in proportion to all the rules of all endpoints. Instead the skeleton has, per direction
 * and family, ACL_TIERS verdict maps that the chain looks up in order. Each element is one piece of one
 * rule, keyed endpoint address . protocol . remote prefix . local ports . remote ports, with the verdict
 * `return` (Allow) or `drop` (Block). Rules that can match the same packet go to increasing tiers in
 * priority order, so the first tier that matches holds the first rule that matches; rules that cannot
 * meet share a tier. An endpoint with rules of a direction is in that direction's `aclRules` set, which
 * sends its traffic through the tiers and then to the default Block. Allow returns to the caller, so
 * traffic between two endpoints passes the sender's Out tiers and then the receiver's In tiers. Pure.
 */
import { invalidArgument } from "../errors.js";
import type { KernelObject } from "../dataplane/objects.js";
import { aclLabel, type AclScope, type Owner } from "../dataplane/naming.js";
import { ACL_TIERS, aclTierSet, type ElementPart } from "../dataplane/nft-sets.js";
import { familyOfAddress, parseIp, parsePrefix, type Family, type Prefix } from "../model/ip.js";
import type { Endpoint, Network } from "../model/types.js";
import type { AclPolicy, PortRange } from "./acl.js";
import type { EndpointPolicy, NetworkPolicy } from "./index.js";

type Direction = AclPolicy["direction"];
const DIRECTIONS: readonly Direction[] = ["In", "Out"];
const FAMILIES: readonly Family[] = [4, 6];

interface Span {
  readonly from: number;
  readonly to: number;
}

/** What one rule matches in one family, every list merged into disjoint pieces (empty lists: anything). */
interface Match {
  readonly protocols: readonly Span[];
  /** null: any of the endpoint's addresses. */
  readonly locals: readonly Prefix[] | null;
  readonly remotes: readonly Prefix[];
  readonly localPorts: readonly Span[];
  readonly remotePorts: readonly Span[];
}

/** An ACL and the label its elements carry, which is how counters find their way back to the policy. */
interface LabelledAcl {
  readonly acl: AclPolicy;
  readonly label: string;
}

const ANY_PROTOCOL: Span = { from: 0, to: 255 };
const ANY_PORT: Span = { from: 0, to: 65535 };
const anyPrefix = (family: Family): Prefix => parsePrefix("any", family === 4 ? "0.0.0.0/0" : "::/0");
const toPrefix = (a: string): Prefix =>
  parsePrefix("address", a.includes("/") ? a : `${a}/${familyOfAddress(a) === 4 ? 32 : 128}`);

function mergeSpans(spans: readonly Span[], any: Span): Span[] {
  if (spans.length === 0) return [any];
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s.from <= last.to + 1)
      out[out.length - 1] = { ...last, to: Math.max(last.to, s.to) };
    else out.push(s);
  }
  return out;
}

/** Prefixes are nested or disjoint: sorted by start, widest first, each one not inside the last kept. */
function outermost(prefixes: readonly Prefix[]): Prefix[] {
  const sorted = [...prefixes].sort((a, b) =>
    a.first !== b.first ? (a.first < b.first ? -1 : 1) : a.last === b.last ? 0 : a.last > b.last ? -1 : 1,
  );
  const out: Prefix[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last === undefined || p.first > last.last) out.push(p);
  }
  return out;
}

/** The rule's match in `family`, or undefined when an address list leaves it nothing of that family. */
function matchOf(acl: AclPolicy, family: Family): Match | undefined {
  const ofFamily = (addresses: readonly string[]): Prefix[] | undefined => {
    const mine = addresses.filter((a) => familyOfAddress(a) === family).map(toPrefix);
    return addresses.length > 0 && mine.length === 0 ? undefined : mine;
  };
  const locals = ofFamily(acl.localAddresses);
  const remotes = ofFamily(acl.remoteAddresses);
  if (locals === undefined || remotes === undefined) return undefined;
  const ports = (p: readonly PortRange[]): Span[] => mergeSpans(p, ANY_PORT);
  return {
    protocols: mergeSpans(
      acl.protocols.map((p) => ({ from: p, to: p })),
      ANY_PROTOCOL,
    ),
    locals: locals.length === 0 ? null : outermost(locals),
    remotes: remotes.length === 0 ? [anyPrefix(family)] : outermost(remotes),
    localPorts: ports(acl.localPorts),
    remotePorts: ports(acl.remotePorts),
  };
}

const spansMeet = (a: readonly Span[], b: readonly Span[]): boolean =>
  a.some((x) => b.some((y) => x.from <= y.to && y.from <= x.to));
const prefixesMeet = (a: readonly Prefix[], b: readonly Prefix[]): boolean =>
  a.some((x) => b.some((y) => x.first <= y.last && y.first <= x.last));

/** Whether some packet could match both rules. */
const meet = (a: Match, b: Match): boolean =>
  spansMeet(a.protocols, b.protocols) &&
  (a.locals === null || b.locals === null || prefixesMeet(a.locals, b.locals)) &&
  prefixesMeet(a.remotes, b.remotes) &&
  spansMeet(a.localPorts, b.localPorts) &&
  spansMeet(a.remotePorts, b.remotePorts);

/** Rules of one direction in evaluation order: ascending priority, ties in the order given. */
const ordered = (acls: readonly LabelledAcl[], direction: Direction): LabelledAcl[] =>
  acls.filter(({ acl }) => acl.direction === direction).sort((a, b) => a.acl.priority - b.acl.priority);

interface TieredRule extends LabelledAcl {
  readonly match: Match;
  readonly tier: number;
}

/** Each rule of the family one tier past the last earlier rule it meets. */
function tiers(rules: readonly LabelledAcl[], family: Family): TieredRule[] {
  const out: TieredRule[] = [];
  for (const rule of rules) {
    const match = matchOf(rule.acl, family);
    if (match === undefined) continue;
    const tier = Math.max(-1, ...out.filter((r) => meet(r.match, match)).map((r) => r.tier)) + 1;
    out.push({ ...rule, match, tier });
  }
  return out;
}

const labelled = (policies: readonly NetworkPolicy[], scope: AclScope): LabelledAcl[] =>
  policies.flatMap((p, i) => (p.type === "ACL" ? [{ acl: p, label: aclLabel(scope, i) }] : []));

/** The endpoint's own ACLs, then its network's, each labelled with its place in its list. */
const aclsOf = (own: readonly EndpointPolicy[], network: readonly NetworkPolicy[]): LabelledAcl[] => [
  ...labelled(own, "endpoint"),
  ...labelled(network, "network"),
];

/**
 * Refuses ACLs that need more tiers than the skeleton has: more than ACL_TIERS rules of one direction
 * each of which can match a packet the one before it matches too.
 */
export function checkAclTiers(own: readonly EndpointPolicy[], network: readonly NetworkPolicy[]): void {
  const acls = aclsOf(own, network);
  for (const direction of DIRECTIONS)
    for (const family of FAMILIES) {
      const depth = Math.max(0, ...tiers(ordered(acls, direction), family).map((r) => r.tier + 1));
      if (depth > ACL_TIERS)
        throw invalidArgument(
          "Policies",
          `${depth} ACL rules of direction ${direction} each overlap the one before; at most ${ACL_TIERS} can`,
        );
    }
}

const spanText = (s: Span): string => (s.from === s.to ? String(s.from) : `${s.from}-${s.to}`);

function elementsOf(owner: Owner, rule: TieredRule, direction: Direction, self: string): KernelObject[] {
  const { match } = rule;
  const family = familyOfAddress(self);
  const selfIp = parseIp("address", self);
  if (match.locals !== null && !match.locals.some((p) => selfIp.value >= p.first && selfIp.value <= p.last))
    return [];
  const verdict: ElementPart = { t: "verdict", v: rule.acl.action === "Allow" ? "return" : "drop" };
  return match.protocols.flatMap((protocol) =>
    match.remotes.flatMap((remote) =>
      match.localPorts.flatMap((localPort) =>
        match.remotePorts.map((remotePort): KernelObject => ({
          kind: "nftElement",
          owner,
          set: aclTierSet(direction, family, rule.tier),
          key: [
            { t: "addr", v: self },
            { t: "protoRange", v: spanText(protocol) },
            { t: "prefix", v: `${remote.network}/${remote.length}` },
            { t: "portRange", v: spanText(localPort) },
            { t: "portRange", v: spanText(remotePort) },
          ],
          value: [verdict],
          label: rule.label,
        })),
      ),
    ),
  );
}

/** The endpoint's ACLs and its network's as elements of the tier maps, and its place in `aclRules`. */
export function aclObjects(ep: Endpoint, net: Network): KernelObject[] {
  const owner = `ep:${ep.id}` as const;
  const acls = aclsOf(ep.policies, net.policies);
  return DIRECTIONS.flatMap((direction) => {
    const rules = ordered(acls, direction);
    if (rules.length === 0) return [];
    return ep.addresses.flatMap((a): KernelObject[] => [
      {
        kind: "nftElement",
        owner,
        set: `acl${direction}Rules${a.family}`,
        key: [{ t: "addr", v: a.address }],
        value: null,
      },
      ...tiers(rules, a.family).flatMap((rule) => elementsOf(owner, rule, direction, a.address)),
    ]);
  });
}
