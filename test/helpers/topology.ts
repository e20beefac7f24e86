/**
 * A test's own little world: a "host" namespace where hostnetd runs, an "external" namespace behind the
 * host's uplink veth, and a prefix every other namespace of the test carries so cleanup finds them all.
 * Nothing here touches the root namespace: links are created inside the namespaces.
 */
import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { inNs, must, run } from "./run.js";

export interface Topology {
  readonly prefix: string;
  readonly host: string;
  readonly ext: string;
  readonly hostIp4: string;
  readonly extIp4: string;
  readonly hostIp6: string;
  readonly extIp6: string;
  /** A namespace name for a container of this test. */
  ns(role: string): string;
  destroy(): Promise<void>;
}

export async function createTopology(): Promise<Topology> {
  const prefix = `hnt${randomBytes(3).toString("hex")}`;
  const host = `${prefix}-host`;
  const ext = `${prefix}-ext`;
  const t: Topology = {
    prefix,
    host,
    ext,
    hostIp4: "192.0.2.1",
    extIp4: "192.0.2.2",
    hostIp6: "2001:db8:1::1",
    extIp6: "2001:db8:1::2",
    ns: (role) => `${prefix}-${role}`,
    destroy: () => destroyPrefix(prefix),
  };
  try {
    await must(["ip", "netns", "add", host]);
    await must(["ip", "netns", "add", ext]);
    const batchHost = [
      "link set lo up",
      `link add up0 type veth peer name up1 netns ${ext}`,
      "addr add 192.0.2.1/24 dev up0",
      "addr add 2001:db8:1::1/64 dev up0 nodad",
      "link set up0 up",
      "route add default via 192.0.2.2",
      "route add ::/0 via 2001:db8:1::2",
    ];
    await must(["ip", "-n", host, "-batch", "-"], { input: `${batchHost.join("\n")}\n` });
    const batchExt = [
      "link set lo up",
      "addr add 192.0.2.2/24 dev up1",
      "addr add 2001:db8:1::2/64 dev up1 nodad",
      "link set up1 up",
    ];
    await must(["ip", "-n", ext, "-batch", "-"], { input: `${batchExt.join("\n")}\n` });
  } catch (err) {
    await destroyPrefix(prefix);
    throw err;
  }
  return t;
}

/** Deletes every namespace whose name starts with the test's prefix; links inside go with them. */
export async function destroyPrefix(prefix: string): Promise<void> {
  const names = await readdir("/run/netns").catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) await run(["ip", "netns", "del", name]);
  // The resolv.conf hostnet wrote for them, if hostnetd stopped before it could remove it with its namespace.
  const etc = await readdir("/etc/netns").catch(() => [] as string[]);
  for (const name of etc.filter((n) => n.startsWith(prefix)))
    await rm(`/etc/netns/${name}`, { recursive: true, force: true });
}

/** Whether `ns` can ping `address` once. */
export async function ping(ns: string, address: string): Promise<boolean> {
  const r = await run(inNs(ns, ["ping", "-n", "-q", "-c", "1", "-W", "1", address]));
  return r.code === 0;
}
