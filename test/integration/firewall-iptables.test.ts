/**
 * hostnet beside an iptables FORWARD policy of DROP (what ufw sets), without Docker, in each backend on its
 * own: one labelled jump at the top of FORWARD to hostnet's chain lets its traffic through, and nothing else
 * in the table changes; without the integration the same traffic is dropped.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { IptablesBackend } from "../../src/dataplane/objects.js";
import { iptables, iptablesRules, legacyTables } from "../helpers/iptables.js";
import { nftTables } from "../helpers/kernel-state.js";
import { useLab, type Lab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";
import { ping, type Topology } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

const backends: IptablesBackend[] = ["nft", "legacy"];
const JUMP = "-A FORWARD -m comment --comment hostnet -j HOSTNET-FORWARD";
const CHAIN = [
  "-N HOSTNET-FORWARD",
  "-A HOSTNET-FORWARD -i hnb-+ -m comment --comment hostnet -j ACCEPT",
  "-A HOSTNET-FORWARD -o hnb-+ -m comment --comment hostnet -j ACCEPT",
];
/** A rule of the host's own, which hostnet must leave where it is. */
const FOREIGN = ["-p", "tcp", "--dport", "9", "-j", "DROP"];
const FOREIGN_RULE = "-A FORWARD -p tcp -m tcp --dport 9 -j DROP";
const PORT = 8080;

async function bridgedThroughIptables(ns: string): Promise<boolean> {
  const r = await run(inNs(ns, ["cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"]));
  return r.stdout.trim() === "1";
}

/** The firewall ufw leaves: forwarding dropped unless a rule accepts it, and a rule of its own. */
const dropForwarding = (backend: IptablesBackend) => async (t: Topology) => {
  await iptables(t.host, backend, "-P", "FORWARD", "DROP");
  await iptables(t.host, backend, "-A", "FORWARD", ...FOREIGN);
};

/** A network with c1 (publishing port 80 as PORT) and c2, and echo servers in c1 and outside. */
async function twoContainers(lab: Lab, subnet: string): Promise<{ c1: string }> {
  await lab.network("n1", [subnet]);
  const c1 = await lab.container("c1", "n1", {
    Policies: [{ Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: PORT } }],
  });
  await lab.container("c2", "n1");
  lab.cleanup.track(await startEchoServers(lab.t.ns("c1"), 80));
  lab.cleanup.track(await startEchoServers(lab.t.ext, 7000));
  return { c1: c1.IpConfigurations[0]?.IpAddress ?? "" };
}

describe.skipIf(needsRoot).each(backends)("iptables-%s with FORWARD policy DROP", (backend) => {
  const lab = useLab({ prepare: dropForwarding(backend) });
  let c1 = "";
  const rules = (chain?: string): Promise<string[]> => iptablesRules(lab.t.host, backend, chain);
  /** Everything hostnet's forwarding needs: container to container, to the outside, and a published port. */
  const flows = async (): Promise<boolean[]> => [
    await ping(lab.t.ns("c2"), c1),
    (await askTcp(lab.t.ns("c2"), lab.t.extIp4, 7000)) === lab.t.hostIp4,
    (await askTcp(lab.t.ext, lab.t.hostIp4, PORT)) === lab.t.extIp4,
  ];

  beforeAll(async () => {
    ({ c1 } = await twoContainers(lab, "10.71.0.0/24"));
  });

  it("lets hostnet's traffic through one labelled jump first in FORWARD to its own chain", async () => {
    expect(await flows()).toEqual([true, true, true]);
    expect(await rules("FORWARD")).toEqual(["-P FORWARD DROP", JUMP, FOREIGN_RULE]);
    expect(await rules("HOSTNET-FORWARD")).toEqual(CHAIN);
    expect(await lab.plan()).toEqual([]);
  });

  it("leaves the other backend alone", async () => {
    if (backend === "nft") expect(await legacyTables(lab.t.host)).not.toContain("filter");
    else expect(await nftTables(lab.t.host)).not.toContain("table ip filter");
  });

  it("shows a removed jump or emptied chain in hostnet plan, and repairs both at the next converge", async () => {
    await iptables(
      lab.t.host,
      backend,
      "-D",
      "FORWARD",
      "-m",
      "comment",
      "--comment",
      "hostnet",
      "-j",
      "HOSTNET-FORWARD",
    );
    await iptables(lab.t.host, backend, "-F", "HOSTNET-FORWARD");
    expect(await askTcp(lab.t.ns("c2"), lab.t.extIp4, 7000)).toBeUndefined();
    expect(await lab.plan()).toEqual([
      expect.objectContaining({ Action: "replace", Kind: "iptablesChain" }),
      expect.objectContaining({ Action: "create", Kind: "iptablesJump" }),
    ]);
    // The next converge that touches a network: another network made.
    await lab.network("n2", ["10.72.0.0/24"]);
    expect(await rules("FORWARD")).toEqual(["-P FORWARD DROP", JUMP, FOREIGN_RULE]);
    expect(await rules("HOSTNET-FORWARD")).toEqual(CHAIN);
    expect(await flows()).toEqual([true, true, true]);
  });

  it("removes its jump and chain with the last network, and nothing else", async () => {
    await lab.d.ok("DELETE", "/networks/n2");
    expect(await rules("FORWARD")).toEqual(["-P FORWARD DROP", JUMP, FOREIGN_RULE]);
    await lab.d.ok("DELETE", "/networks/n1?force=true");
    expect(await rules()).toEqual(["-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT", FOREIGN_RULE]);
    expect(await lab.plan()).toEqual([]);
  });
});

describe.skipIf(needsRoot).each(backends)(
  "iptables-%s with FORWARD policy DROP, integration off",
  (backend) => {
    const lab = useLab({
      prepare: dropForwarding(backend),
      daemonArgs: ["--no-default-network", "--firewall-integration", "off"],
    });
    let c1 = "";

    beforeAll(async () => {
      ({ c1 } = await twoContainers(lab, "10.73.0.0/24"));
    });

    it("adds nothing to the table, and the policy drops hostnet's forwarding", async () => {
      expect(await iptablesRules(lab.t.host, backend)).toEqual([
        "-P INPUT ACCEPT",
        "-P FORWARD DROP",
        "-P OUTPUT ACCEPT",
        FOREIGN_RULE,
      ]);
      // Bridged frames meet iptables only through br_netfilter, which Docker loads.
      if (await bridgedThroughIptables(lab.t.host)) expect(await ping(lab.t.ns("c2"), c1)).toBe(false);
      expect(await askTcp(lab.t.ns("c2"), lab.t.extIp4, 7000)).toBeUndefined();
      expect(await askTcp(lab.t.ext, lab.t.hostIp4, PORT)).toBeUndefined();
      expect(await lab.plan()).toEqual([]);
    });
  },
);
