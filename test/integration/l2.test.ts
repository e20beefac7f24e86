/**
 * L2Bridge and L2Tunnel networks on a LAN of namespaces: the LAN sees one MAC, the host's, for every
 * container; L2Tunnel switches nothing between containers on the host, so two of them reach each other only
 * when the LAN sends their traffic back (here a router doing private-VLAN proxy ARP).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createLan, LAN_HOST, lanNetwork, learnedMacs, type Lan } from "../helpers/lan.js";
import { useLab, type Lab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";

interface Containers {
  readonly ip: Record<string, string>;
  readonly mac: Record<string, string>;
  hostMac: string;
}

function lanLab(type: string): { lab: Lab; lan: () => Lan; c: Containers } {
  let lan: Lan | undefined;
  const lab = useLab({
    async prepare(t) {
      lan = await createLan(t);
    },
  });
  const c: Containers = { ip: {}, mac: {}, hostMac: "" };
  beforeAll(async () => {
    const [link] = JSON.parse(await must(["ip", "-n", lab.t.host, "-j", "link", "show", "dev", "lan0"])) as {
      address: string;
    }[];
    c.hostMac = link?.address ?? "";
    await lab.d.ok("POST", "/networks", lanNetwork("lan", type));
    for (const [name, address] of [
      ["c1", "10.70.0.11"],
      ["c2", "10.70.0.12"],
    ] as const) {
      const ep = await lab.container(name, "lan", { IpConfigurations: [{ IpAddress: address }] });
      c.ip[name] = address;
      c.mac[name] = ep.MacAddress;
    }
  });
  return {
    lab,
    c,
    lan: () => {
      if (lan === undefined) throw new Error("no LAN");
      return lan;
    },
  };
}

const neighbour = async (ns: string, address: string): Promise<string> =>
  must(inNs(ns, ["ip", "neigh", "show", address]));

describe.skipIf(needsRoot)("L2Bridge networks", () => {
  const { lab, lan, c } = lanLab("L2Bridge");

  it("puts containers on the LAN behind the host's MAC, in frames and in ARP", async () => {
    const t = lab.t;
    expect(await ping(t.ns("lh"), c.ip["c1"] ?? "")).toBe(true);
    expect(await ping(t.ns("c2"), LAN_HOST)).toBe(true);
    expect(await neighbour(t.ns("lh"), c.ip["c1"] ?? "")).toContain(c.hostMac);
    expect(await neighbour(t.ns("lh"), c.ip["c2"] ?? "")).toContain(c.hostMac);
    const onTheWire = await learnedMacs(lan());
    expect(onTheWire).toContain(c.hostMac);
    expect(onTheWire).not.toContain(c.mac["c1"]);
    expect(onTheWire).not.toContain(c.mac["c2"]);
  });

  it("switches containers of the host to each other directly, with their own MACs", async () => {
    const t = lab.t;
    expect(await ping(t.ns("c1"), c.ip["c2"] ?? "")).toBe(true);
    expect(await neighbour(t.ns("c1"), c.ip["c2"] ?? "")).toContain(c.mac["c2"]);
    expect(await lab.plan()).toEqual([]);
  });

  it("enforces ACLs on what comes from the LAN", async () => {
    const t = lab.t;
    // Once an endpoint has an inbound rule, what no rule allows is blocked: allow the rest after the block.
    const block = {
      Action: "Block",
      Direction: "In",
      Protocols: "1",
      RemoteAddresses: LAN_HOST,
      Priority: 100,
    };
    const rest = { Action: "Allow", Direction: "In", Priority: 200 };
    await lab.d.ok("POST", "/endpoints/c1/policies", {
      RequestType: "Add",
      Policies: [
        { Type: "ACL", Settings: block },
        { Type: "ACL", Settings: rest },
      ],
    });
    expect(await ping(t.ns("lh"), c.ip["c1"] ?? "")).toBe(false);
    expect(await ping(t.ns("c2"), c.ip["c1"] ?? "")).toBe(true);
    await lab.d.ok("POST", "/endpoints/c1/policies", { RequestType: "Update", Policies: [] });
    expect(await ping(t.ns("lh"), c.ip["c1"] ?? "")).toBe(true);
  });

  it("refuses IPv6 subnets, whose neighbour discovery would show the containers' MACs", async () => {
    const r = await lab.d.api("POST", "/networks", {
      ...lanNetwork("v6", "L2Bridge"),
      Ipams: [{ Subnets: [{ IpAddressPrefix: "fd70::/64" }] }],
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { field: "Ipams[0].Subnets[0].IpAddressPrefix" } });
  });
});

describe.skipIf(needsRoot)("L2Tunnel networks", () => {
  const { lab, lan, c } = lanLab("L2Tunnel");

  it("reaches the LAN behind the host's MAC, but switches nothing between containers on the host", async () => {
    const t = lab.t;
    expect(await ping(t.ns("lh"), c.ip["c1"] ?? "")).toBe(true);
    expect(await neighbour(t.ns("lh"), c.ip["c1"] ?? "")).toContain(c.hostMac);
    expect(await ping(t.ns("c1"), c.ip["c2"] ?? "")).toBe(false);
  });

  it("lets containers reach each other when the LAN sends their traffic back", async () => {
    const router = lan().router;
    for (const key of [
      "net.ipv4.ip_forward=1",
      "net.ipv4.conf.all.send_redirects=0",
      "net.ipv4.conf.eth0.send_redirects=0",
      "net.ipv4.conf.eth0.proxy_arp=1",
      "net.ipv4.conf.eth0.proxy_arp_pvlan=1",
      // Proxy ARP answers after a random delay of up to 0.8 s by default, longer than ping waits.
      "net.ipv4.neigh.eth0.proxy_delay=0",
    ])
      await must(inNs(router, ["sysctl", "-q", "-w", key]));
    await must(inNs(lab.t.ns("c1"), ["ip", "neigh", "flush", "all"]));
    expect(await ping(lab.t.ns("c1"), c.ip["c2"] ?? "")).toBe(true);
    expect(await learnedMacs(lan())).not.toContain(c.mac["c1"]);
    expect(await lab.plan()).toEqual([]);
  });
});
