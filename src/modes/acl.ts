/**
 * An endpoint's ACLs as kernel objects, the same for every network type: one chain per direction that
 * has rules (rules by ascending priority, first match decides, then the default Block), and one verdict
 * map element per endpoint address jumping to it. Allow returns to the caller, so traffic between two
 * endpoints passes the sender's Out chain and then the receiver's In chain. Pure.
 */
import { createHash } from "node:crypto";
import type { KernelObject } from "../dataplane/objects.js";
import { aclChainName } from "../dataplane/naming.js";
import type { Family } from "../model/ip.js";
import { familyOfAddress, type AclPolicy, type EndpointPolicy, type PortRange } from "../model/policy.js";
import type { Endpoint, Network } from "../model/types.js";

const set = (items: readonly string[]): string =>
  items.length === 1 ? (items[0] ?? "") : `{ ${items.join(", ")} }`;
const portText = (p: PortRange): string => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`);

/** The families a rule applies to: those its address lists allow (an empty list allows any). */
function familiesOf(acl: AclPolicy): (Family | undefined)[] {
  const lists = [acl.localAddresses, acl.remoteAddresses].filter((l) => l.length > 0);
  if (lists.length === 0) return [undefined];
  return ([4, 6] as const).filter((f) => lists.every((l) => l.some((a) => familyOfAddress(a) === f)));
}

function ruleText(acl: AclPolicy, family: Family | undefined, label: string): string {
  const [self, remote] = acl.direction === "Out" ? ["saddr", "daddr"] : ["daddr", "saddr"];
  const [localPort, remotePort] = acl.direction === "Out" ? ["sport", "dport"] : ["dport", "sport"];
  const ip = family === 6 ? "ip6" : "ip";
  const of = (addresses: readonly string[]): string[] =>
    addresses.filter((a) => familyOfAddress(a) === family);
  const parts: string[] = [];
  if (acl.protocols.length > 0) parts.push(`meta l4proto ${set(acl.protocols.map(String))}`);
  if (acl.localAddresses.length > 0) parts.push(`${ip} ${self} ${set(of(acl.localAddresses))}`);
  if (acl.remoteAddresses.length > 0) parts.push(`${ip} ${remote} ${set(of(acl.remoteAddresses))}`);
  if (acl.localPorts.length > 0) parts.push(`th ${localPort} ${set(acl.localPorts.map(portText))}`);
  if (acl.remotePorts.length > 0) parts.push(`th ${remotePort} ${set(acl.remotePorts.map(portText))}`);
  parts.push("counter", acl.action === "Allow" ? "return" : "drop", `comment "${label}"`);
  return parts.join(" ");
}

/** An ACL and the comment its rules carry, which is how counters find their way back to the policy. */
export interface LabelledAcl {
  readonly acl: AclPolicy;
  readonly label: string;
}

/** Rules of one direction in evaluation order: ascending priority, ties in the order given. */
export function aclRules(acls: readonly LabelledAcl[], direction: "In" | "Out"): string[] {
  const ordered = acls
    .filter(({ acl }) => acl.direction === direction)
    .sort((a, b) => a.acl.priority - b.acl.priority);
  if (ordered.length === 0) return [];
  return [
    ...ordered.flatMap(({ acl, label }) => familiesOf(acl).map((f) => ruleText(acl, f, label))),
    'counter drop comment "default"',
  ];
}

const labelled = (policies: readonly EndpointPolicy[], prefix: string): LabelledAcl[] =>
  policies.flatMap((p, i) => (p.type === "ACL" ? [{ acl: p, label: `${prefix} ${i}` }] : []));

/**
 * The endpoint's own ACLs (labelled `acl <index>`) and its network's (`network acl <index>`) in one chain
 * per direction; at equal priority the endpoint's own rule comes first.
 */
export function aclObjects(ep: Endpoint, net: Network): KernelObject[] {
  const owner = `ep:${ep.id}` as const;
  const acls = [...labelled(ep.policies, "acl"), ...labelled(net.policies, "network acl")];
  const objects: KernelObject[] = [];
  for (const direction of ["In", "Out"] as const) {
    const rules = aclRules(acls, direction);
    if (rules.length === 0) continue;
    const hash = createHash("sha256").update(rules.join("\n")).digest("hex").slice(0, 12);
    const name = aclChainName(direction === "In" ? "in" : "out", ep.id, hash);
    objects.push({ kind: "nftChain", owner, name, rules });
    for (const a of ep.addresses)
      objects.push({
        kind: "nftElement",
        owner,
        set: `acl${direction}${a.family}`,
        key: [{ t: "addr", v: a.address }],
        value: [{ t: "verdict", v: `jump ${name}` }],
      });
  }
  return objects;
}
