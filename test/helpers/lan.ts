/**
 * A "physical LAN" of namespaces for the modes that put containers on it: a switch (bridge br0 in its own
 * namespace), a LAN host and a router, and the test host's uplink NIC lan0 plugged into the switch. All of
 * it carries the topology's prefix, so the topology's cleanup removes it.
 */
import { must } from "./run.js";
import type { Topology } from "./topology.js";

export const HOST_LAN = "10.70.0.1";
export const LAN_HOST = "10.70.0.2";
export const ROUTER = "10.70.0.254";
/** A prefix behind the router, reached from the host through a route on lan0. */
export const BEYOND = "10.80.0.1";

export interface Lan {
  readonly switchNs: string;
  readonly lanHost: string;
  readonly router: string;
}

export async function createLan(t: Topology): Promise<Lan> {
  const lan = { switchNs: t.ns("sw"), lanHost: t.ns("lh"), router: t.ns("rt") };
  for (const ns of Object.values(lan)) await must(["ip", "netns", "add", ns]);
  await must(["ip", "-n", lan.switchNs, "-batch", "-"], {
    input: [
      "link set lo up",
      "link add br0 type bridge",
      "link set br0 up",
      `link add p-host type veth peer name lan0 netns ${t.host}`,
      `link add p-lh type veth peer name eth0 netns ${lan.lanHost}`,
      `link add p-rt type veth peer name eth0 netns ${lan.router}`,
      ...["p-host", "p-lh", "p-rt"].flatMap((p) => [`link set ${p} master br0`, `link set ${p} up`]),
      "",
    ].join("\n"),
  });
  for (const [ns, cidr] of [
    [t.host, `${HOST_LAN}/24`],
    [lan.lanHost, `${LAN_HOST}/24`],
    [lan.router, `${ROUTER}/24`],
  ] as const) {
    const dev = ns === t.host ? "lan0" : "eth0";
    await must(["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
    await must(["ip", "-n", ns, "link", "set", dev, "mtu", "1400", "up"]);
  }
  await must(["ip", "-n", t.host, "route", "add", "10.80.0.0/16", "via", ROUTER, "metric", "50"]);
  await must(["ip", "-n", lan.router, "addr", "add", `${BEYOND}/16`, "dev", "lo"]);
  await must(["ip", "-n", lan.lanHost, "route", "add", "default", "via", ROUTER]);
  return lan;
}

/** The MACs the switch has learned: every source MAC that was on the wire. */
export async function learnedMacs(lan: Lan): Promise<string[]> {
  const fdb = JSON.parse(await must(["bridge", "-n", lan.switchNs, "-j", "fdb", "show", "br", "br0"])) as {
    mac: string;
    state?: string;
  }[];
  return fdb.filter((e) => e.state !== "permanent").map((e) => e.mac);
}

/** The network request for a LAN-mode network on lan0, with the LAN's subnet and router. */
export const lanNetwork = (name: string, type: string): Record<string, unknown> => ({
  Name: name,
  Type: type,
  Ipams: [{ Subnets: [{ IpAddressPrefix: "10.70.0.0/24", Routes: [{ NextHop: ROUTER }] }] }],
  Policies: [{ Type: "NetAdapterName", Settings: { NetworkAdapterName: "lan0" } }],
});
