/** hostnet's exceptions in the other firewalls of its namespace, and those firewalls, read together. */
import type { Runner } from "../linux/exec.js";
import type { FirewallObservation } from "./exceptions.js";
import { observeFirewalld } from "./firewalld.js";
import { observeIptables } from "./iptables.js";

export async function observeFirewalls(runner: Runner): Promise<FirewallObservation> {
  const [iptables, firewalld] = await Promise.all([observeIptables(runner), observeFirewalld(runner)]);
  return {
    objects: [...iptables.objects, ...firewalld.objects],
    host: { iptables: iptables.tables, firewalld: firewalld.running },
  };
}
