/**
 * hostnet beside a real firewalld (nftables backend) filtering its namespace, reached over a D-Bus system
 * bus of the test's own (helpers/firewalld.ts): hostnet's bridges go into firewalld's trusted zone, at
 * runtime only, through firewalld's D-Bus interface, while hostnet has a network.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { firewalldSkipReason, startFirewalld, type Firewalld } from "../helpers/firewalld.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { ping } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

const skipReason = needsRoot ? undefined : firewalldSkipReason();
const PORT = 8080;

describe.skipIf(needsRoot || skipReason !== undefined)("firewalld in hostnetd's namespace", () => {
  let firewalld: Firewalld | undefined;
  const fw = (): Firewalld => {
    if (firewalld === undefined) throw new Error("firewalld did not start");
    return firewalld;
  };
  const lab = useLab({
    prepare: async (t) => {
      firewalld = await startFirewalld(t.host);
      lab.cleanup.track(firewalld);
    },
    daemon: () => ({ systemBus: fw().busAddress }),
  });
  let c1 = "";
  /** The zone firewalld puts hostnet's bridges in, or its answer when there is none. */
  const zone = async (): Promise<string> => {
    const r = await fw().cmd(["--get-zone-of-interface=hnb-+"]);
    return (r.stdout + r.stderr).trim();
  };
  /** hostnet's forwarding: container to container, to the outside, and a published port from outside. */
  const flows = async (): Promise<boolean[]> => [
    await ping(lab.t.ns("c2"), c1),
    (await askTcp(lab.t.ns("c2"), lab.t.extIp4, 7000)) === lab.t.hostIp4,
    (await askTcp(lab.t.ext, lab.t.hostIp4, PORT)) === lab.t.extIp4,
  ];

  beforeAll(async () => {
    await lab.network("n1", ["10.74.0.0/24"]);
    const ep = await lab.container("c1", "n1", {
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: PORT } },
      ],
    });
    c1 = ep.IpConfigurations[0]?.IpAddress ?? "";
    await lab.container("c2", "n1");
    lab.cleanup.track(await startEchoServers(lab.t.ns("c1"), 80));
    lab.cleanup.track(await startEchoServers(lab.t.ext, 7000));
  });

  it("puts hostnet's bridges in the trusted zone, at runtime only, and its traffic flows", async () => {
    expect(await zone()).toBe("trusted");
    expect((await fw().cmd(["--permanent", "--zone=trusted", "--list-interfaces"])).stdout.trim()).toBe("");
    expect(await flows()).toEqual([true, true, true]);
    expect(await lab.plan()).toEqual([]);
  });

  it("after a firewalld reload drops the binding, shows it in hostnet plan and binds again at the next converge", async () => {
    expect((await fw().cmd(["--reload"])).code).toBe(0);
    expect(await zone()).toBe("no zone");
    // Without the exception firewalld rejects what the containers send out.
    expect(await askTcp(lab.t.ns("c2"), lab.t.extIp4, 7000)).toBeUndefined();
    expect(await lab.plan()).toEqual([
      {
        Action: "create",
        Kind: "firewalldInterface",
        Object: "firewalld zone trusted interface hnb-+ (runtime)",
      },
    ]);
    await lab.network("n2", ["10.75.0.0/24"]);
    expect(await zone()).toBe("trusted");
    expect(await flows()).toEqual([true, true, true]);
  });

  it("takes the bridges out of the zone with the last network", async () => {
    await lab.d.ok("DELETE", "/networks/n2");
    expect(await zone()).toBe("trusted");
    await lab.d.ok("DELETE", "/networks/n1?force=true");
    expect(await zone()).toBe("no zone");
    expect(await lab.plan()).toEqual([]);
  });
});
