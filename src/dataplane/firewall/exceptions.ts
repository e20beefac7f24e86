/**
 * hostnet's exceptions in the other firewalls of its namespace: where another program's base chain would
 * drop what hostnet's bridges forward, the smallest exception in the place that program designates for it.
 * Which ones are wanted is a pure function of what those firewalls are (observed apart from hostnet's own
 * objects, since they are not hostnet's) and of whether hostnet has a network.
 */
import { anyBridgeInterface, IPTABLES_CHAIN, IPTABLES_COMMENT } from "../naming.js";
import type { IptablesBackend, IptablesHook, KernelObject } from "../objects.js";

/** `hostnetd --firewall-integration`: `off` touches nothing outside hostnet's own tables. */
export const firewallIntegrations = ["auto", "off"] as const;
export type FirewallIntegration = (typeof firewallIntegrations)[number];

/** What one iptables filter table (a backend and a family) of hostnetd's namespace does with forwarding. */
export interface IptablesForwarding {
  readonly backend: IptablesBackend;
  readonly family: 4 | 6;
  /** Docker's chain for its users' rules exists: Docker runs, or ran, here. */
  readonly dockerUser: boolean;
  /** FORWARD drops what no rule accepts: its policy is DROP, or its last rule drops or rejects everything. */
  readonly forwardDrops: boolean;
}

/** The other firewalls of hostnetd's namespace, as far as they decide where hostnet's exceptions go. */
export interface HostFirewalls {
  readonly iptables: readonly IptablesForwarding[];
  /** firewalld runs in hostnetd's network namespace (its D-Bus name is owned by a process there). */
  readonly firewalld: boolean;
}

export const noHostFirewalls: HostFirewalls = { iptables: [], firewalld: false };

/** hostnet's exceptions found in the kernel, and the firewalls they are in. */
export interface FirewallObservation {
  readonly objects: readonly KernelObject[];
  readonly host: HostFirewalls;
}

/** The rules of hostnet's chain, as `iptables -S` shows them: accept what enters or leaves its bridges. */
export const IPTABLES_CHAIN_RULES = ["-i", "-o"].map(
  (dir) => `${dir} ${anyBridgeInterface} -m comment --comment ${IPTABLES_COMMENT} -j ACCEPT`,
);

/** The one rule hostnet adds to another program's chain, as `iptables -S` shows it. */
export const IPTABLES_JUMP_RULE = `-m comment --comment ${IPTABLES_COMMENT} -j ${IPTABLES_CHAIN}`;

/**
 * The zone firewalld documents as accepting every connection. Runtime only: nothing permanent is written
 * and firewalld never has to reload (which would drop every other program's runtime changes).
 */
const FIREWALLD_ZONE = "trusted";

/** Where hostnet jumps to its chain in one iptables filter table; undefined when it need not. */
function hookOf(table: IptablesForwarding): IptablesHook | undefined {
  if (table.dockerUser) return "DOCKER-USER";
  return table.forwardDrops ? "FORWARD" : undefined;
}

/** The exceptions hostnet wants while it has a network. */
export function firewallExceptions(host: HostFirewalls): KernelObject[] {
  const out: KernelObject[] = [];
  for (const table of host.iptables) {
    const hook = hookOf(table);
    if (hook === undefined) continue;
    const { backend, family } = table;
    out.push(
      { kind: "iptablesChain", owner: "firewall", backend, family, rules: IPTABLES_CHAIN_RULES },
      { kind: "iptablesJump", owner: "firewall", backend, family, hook, rule: IPTABLES_JUMP_RULE },
    );
  }
  if (host.firewalld)
    out.push({
      kind: "firewalldInterface",
      owner: "firewall",
      zone: FIREWALLD_ZONE,
      interface: anyBridgeInterface,
    });
  return out;
}
