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
import { familyOfAddress, type AclPolicy, type PortRange } from "../model/policy.js";
import type { Endpoint } from "../model/types.js";

const set = (items: readonly string[]): string =>
  items.length === 1 ? (items[0] ?? "") : `{ ${items.join(", ")} }`;
const portText = (p: PortRange): string => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`);

/** The families a rule applies to: those its address lists allow (an empty list allows any). */
function familiesOf(acl: AclPolicy): (Family | undefined)[] {
  const lists = [acl.localAddresses, acl.remoteAddresses].filter((l) => l.length > 0);
  if (lists.length === 0) return [undefined];
  return ([4, 6] as const).filter((f) => lists.every((l) => l.some((a) => familyOfAddress(a) === f)));
}

function ruleText(acl: AclPolicy, family: Family | undefined, index: number): string {
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
  parts.push("counter", acl.action === "Allow" ? "return" : "drop", `comment "acl ${index}"`);
  return parts.join(" ");
}

/** Rules of one direction in evaluation order; `index` is the policy's position on the endpoint. */
export function aclRules(policies: readonly AclPolicy[], direction: "In" | "Out"): string[] {
  const ordered = policies
    .map((acl, index) => ({ acl, index }))
    .filter(({ acl }) => acl.direction === direction)
    .sort((a, b) => a.acl.priority - b.acl.priority || a.index - b.index);
  if (ordered.length === 0) return [];
  return [
    ...ordered.flatMap(({ acl, index }) => familiesOf(acl).map((f) => ruleText(acl, f, index))),
    'counter drop comment "default"',
  ];
}

export function aclObjects(ep: Endpoint): KernelObject[] {
  const owner = `ep:${ep.id}` as const;
  const acls = ep.policies.filter((p): p is AclPolicy => p.type === "ACL");
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
