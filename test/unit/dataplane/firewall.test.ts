import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  firewallExceptions,
  IPTABLES_CHAIN_RULES,
  IPTABLES_JUMP_RULE,
  type HostFirewalls,
  type IptablesForwarding,
} from "../../../src/dataplane/firewall/exceptions.js";
import { firewalldArgv } from "../../../src/dataplane/firewall/firewalld.js";
import {
  iptablesRestoreArgv,
  iptablesRestoreInput,
  parseFilterTable,
} from "../../../src/dataplane/firewall/iptables.js";
import { describe as describeObject, identity, type KernelObject } from "../../../src/dataplane/objects.js";
import { plan } from "../../../src/dataplane/plan.js";
import { batches, steps } from "../../../src/dataplane/render/steps.js";
import { harness, type Harness } from "../harness.js";

type Of<K extends KernelObject["kind"]> = Extract<KernelObject, { kind: K }>;

const table = (over: Partial<IptablesForwarding> = {}): IptablesForwarding => ({
  backend: "nft",
  family: 4,
  dockerUser: false,
  forwardDrops: false,
  ...over,
});
const chain = (over: Partial<Of<"iptablesChain">> = {}): Of<"iptablesChain"> => ({
  kind: "iptablesChain",
  owner: "firewall",
  backend: "nft",
  family: 4,
  rules: IPTABLES_CHAIN_RULES,
  ...over,
});
const jump = (over: Partial<Of<"iptablesJump">> = {}): Of<"iptablesJump"> => ({
  kind: "iptablesJump",
  owner: "firewall",
  backend: "nft",
  family: 4,
  hook: "FORWARD",
  rule: IPTABLES_JUMP_RULE,
  ...over,
});
const trusted: Of<"firewalldInterface"> = {
  kind: "firewalldInterface",
  owner: "firewall",
  zone: "trusted",
  interface: "hnb-+",
};

/** `iptables -S` of a table Docker 20.10 programmed, after it had to enable forwarding itself. */
const DOCKER = `-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER
-N DOCKER-ISOLATION-STAGE-1
-N DOCKER-ISOLATION-STAGE-2
-N DOCKER-USER
-N HOSTNET-FORWARD
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -m comment --comment hostnet -j HOSTNET-FORWARD
-A DOCKER-USER -s 203.0.113.0/24 -j DROP
-A DOCKER-USER -j RETURN
-A HOSTNET-FORWARD -i hnb-+ -m comment --comment hostnet -j ACCEPT
-A HOSTNET-FORWARD -o hnb-+ -m comment --comment hostnet -j ACCEPT
`;

describe("parseFilterTable", () => {
  it("reads Docker's chain, the DROP policy, and hostnet's chain and jump", () => {
    expect(parseFilterTable("nft", 4, DOCKER)).toEqual({
      forwarding: table({ dockerUser: true, forwardDrops: true }),
      objects: [chain(), jump({ hook: "DOCKER-USER" })],
    });
  });

  it("takes a last FORWARD rule that drops or rejects everything for a DROP policy", () => {
    const rhel = "-P FORWARD ACCEPT\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\n";
    expect(parseFilterTable("legacy", 6, rhel).forwarding).toEqual(
      table({ backend: "legacy", family: 6, forwardDrops: true }),
    );
    const narrow = "-P FORWARD ACCEPT\n-A FORWARD -i eth9 -j DROP\n";
    expect(parseFilterTable("nft", 4, narrow).forwarding.forwardDrops).toBe(false);
  });

  it("finds nothing of hostnet's in a table it never changed, nor a jump to another chain", () => {
    const ufw = "-P FORWARD DROP\n-N ufw-before-forward\n-A FORWARD -j ufw-before-forward\n";
    expect(parseFilterTable("nft", 4, ufw)).toEqual({
      forwarding: table({ forwardDrops: true }),
      objects: [],
    });
    expect(
      parseFilterTable("nft", 4, "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n").forwarding,
    ).toEqual(table());
  });
});

describe("firewallExceptions", () => {
  it("jumps from Docker's chain where Docker is, from FORWARD where it drops, and nowhere else", () => {
    const host: HostFirewalls = {
      iptables: [
        table({ dockerUser: true, forwardDrops: true }),
        table({ family: 6 }),
        table({ backend: "legacy", forwardDrops: true }),
      ],
      firewalld: false,
    };
    expect(firewallExceptions(host)).toEqual([
      chain(),
      jump({ hook: "DOCKER-USER" }),
      chain({ backend: "legacy" }),
      jump({ backend: "legacy" }),
    ]);
  });

  it("puts hostnet's bridges in firewalld's trusted zone where firewalld runs", () => {
    expect(firewallExceptions({ iptables: [], firewalld: true })).toEqual([trusted]);
  });
});

/** The iptables-restore lines that make hostnet's chain (declaring it empties one that exists). */
const MAKE_CHAIN = [
  ":HOSTNET-FORWARD - [0:0]",
  "-A HOSTNET-FORWARD -i hnb-+ -m comment --comment hostnet -j ACCEPT",
  "-A HOSTNET-FORWARD -o hnb-+ -m comment --comment hostnet -j ACCEPT",
];

describe("rendering the exceptions", () => {
  it("changes each filter table in one iptables-restore, the chain before the jump and after it when removed", () => {
    const made = batches(steps(plan([chain(), jump(), chain({ family: 6 }), jump({ family: 6 })], []).ops));
    expect(made).toEqual([
      {
        runner: { kind: "iptables", backend: "nft", family: 4 },
        lines: [...MAKE_CHAIN, "-I FORWARD 1 -m comment --comment hostnet -j HOSTNET-FORWARD"],
        proxy: [],
      },
      {
        runner: { kind: "iptables", backend: "nft", family: 6 },
        lines: [...MAKE_CHAIN, "-I FORWARD 1 -m comment --comment hostnet -j HOSTNET-FORWARD"],
        proxy: [],
      },
    ]);
    expect(batches(steps(plan([], [chain(), jump({ hook: "DOCKER-USER" })]).ops))).toEqual([
      {
        runner: { kind: "iptables", backend: "nft", family: 4 },
        lines: [
          "-D DOCKER-USER -m comment --comment hostnet -j HOSTNET-FORWARD",
          "-F HOSTNET-FORWARD",
          "-X HOSTNET-FORWARD",
        ],
        proxy: [],
      },
    ]);
    expect(iptablesRestoreArgv("legacy", 6)).toEqual(["ip6tables-legacy-restore", "-w", "5", "--noflush"]);
    expect(iptablesRestoreInput(["-F HOSTNET-FORWARD"])).toBe("*filter\n-F HOSTNET-FORWARD\nCOMMIT\n");
  });

  it("moves the jump when Docker comes, and makes an emptied chain again", () => {
    const { ops } = plan([chain(), jump({ hook: "DOCKER-USER" })], [chain({ rules: [] }), jump()]);
    expect(batches(steps(ops))[0]?.lines).toEqual([
      "-D FORWARD -m comment --comment hostnet -j HOSTNET-FORWARD",
      ...MAKE_CHAIN,
      "-I DOCKER-USER 1 -m comment --comment hostnet -j HOSTNET-FORWARD",
    ]);
  });

  it("calls firewalld's zone interface over D-Bus", () => {
    expect(steps(plan([trusted], []).ops)).toEqual([
      { runner: { kind: "firewalld" }, line: "addInterface trusted hnb-+" },
    ]);
    expect(steps(plan([trusted], [{ ...trusted, zone: "public" }]).ops)[0]?.line).toBe(
      "changeZoneOfInterface trusted hnb-+",
    );
    expect(steps(plan([], [trusted]).ops)[0]?.line).toBe("removeInterface trusted hnb-+");
    expect(firewalldArgv("addInterface trusted hnb-+")).toEqual([
      "dbus-send",
      "--system",
      "--print-reply",
      "--dest=org.fedoraproject.FirewallD1",
      "/org/fedoraproject/FirewallD1",
      "org.fedoraproject.FirewallD1.zone.addInterface",
      "string:trusted",
      "string:hnb-+",
    ]);
  });

  it("describes each exception for hostnet plan", () => {
    expect(describeObject(jump({ backend: "legacy", family: 6, hook: "DOCKER-USER" }))).toBe(
      "ip6tables-legacy DOCKER-USER: -m comment --comment hostnet -j HOSTNET-FORWARD",
    );
    expect(describeObject(trusted)).toBe("firewalld zone trusted interface hnb-+ (runtime)");
  });
});

describe("the reconciler and the host's firewalls", () => {
  let h: Harness;
  const exceptions = (): string[] => h.kernel.ownedBy("firewall").map(identity).sort();
  const network = (name: string) => h.service.createNetwork({ name, type: "NAT", subnets: [] });

  beforeEach(() => {
    h = harness();
    h.kernel.firewalls = { iptables: [table({ forwardDrops: true })], firewalld: true };
  });
  afterEach(() => h.close());

  it("adds the exceptions with the first network and removes them with the last", async () => {
    await network("n1");
    expect(exceptions()).toEqual(["firewalld:hnb-+", "iptables:nft:4:chain", "iptables:nft:4:jump:FORWARD"]);
    await network("n2");
    await h.service.deleteNetwork("n1");
    expect(exceptions()).toHaveLength(3);
    await h.service.deleteNetwork("n2");
    expect(exceptions()).toEqual([]);
  });

  it("reads the firewalls afresh for a network, not for an endpoint", async () => {
    await network("n1");
    const before = h.kernel.firewallObservations;
    await h.service.createEndpoint({ name: "e1", network: "n1", policies: [], ips: [], portMappings: [] });
    expect(h.kernel.firewallObservations).toBe(before);
    h.kernel.firewalls = { iptables: [table({ dockerUser: true, forwardDrops: true })], firewalld: false };
    await network("n2");
    expect(exceptions()).toEqual(["iptables:nft:4:chain", "iptables:nft:4:jump:DOCKER-USER"]);
  });

  it("shows a wiped exception in the plan and makes it again at the next converge of a network", async () => {
    await network("n1");
    h.kernel.objects.delete(identity(jump()));
    expect((await h.service.plan()).map((op) => [op.action, op.kind])).toEqual([["create", "iptablesJump"]]);
    await network("n2");
    expect(h.kernel.has(identity(jump()))).toBe(true);
  });

  it("looks at no firewall and adds nothing with the integration off", async () => {
    h.close();
    h = harness({ firewallIntegration: "off" });
    h.kernel.firewalls = { iptables: [table({ dockerUser: true, forwardDrops: true })], firewalld: true };
    await network("n1");
    expect(await h.service.plan()).toEqual([]);
    expect(exceptions()).toEqual([]);
    expect(h.kernel.firewallObservations).toBe(0);
  });
});
