/**
 * hostnet on Debian's stock 6.1 kernel: one NAT network, one endpoint with published ports and an ACL, and
 * real packets from an "external" namespace.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { ping, type Topology } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";
import { emulated } from "./lane.js";

describe("a NAT network on the stock kernel", () => {
  const lab = useLab(emulated);
  let t: Topology;
  let web = "";

  beforeAll(async () => {
    t = lab.t;
    await lab.network("n1", ["10.44.0.0/24"]);
    const publish = (port: number): Record<string, unknown> => ({
      Type: "PortMapping",
      Settings: { Protocol: "TCP", InternalPort: port, ExternalPort: 8000 + port },
    });
    // Once a direction has a rule, what no rule allows is blocked: port 81 and ping.
    const allow80 = {
      Type: "ACL",
      Settings: { Action: "Allow", Direction: "In", Protocols: "6", LocalPorts: "80", Priority: 100 },
    };
    const ep = await lab.container("web", "n1", { Policies: [publish(80), publish(81), allow80] });
    web = ep.IpConfigurations[0]?.IpAddress ?? "";
    for (const port of [80, 81]) lab.cleanup.track(await startEchoServers(t.ns("web"), port));
    lab.cleanup.track(await startEchoServers(t.ext, 7000));
  });

  it("publishes a port to the outside, showing the real client address", async () => {
    expect(await askTcp(t.ext, t.hostIp4, 8080)).toBe(t.extIp4);
  });

  it("masquerades the container behind the host's address", async () => {
    expect(await askTcp(t.ns("web"), t.extIp4, 7000)).toBe(t.hostIp4);
  });

  it("blocks what the ACL does not allow: the other published port, and ping", async () => {
    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBeUndefined();
    expect(await ping(t.host, web)).toBe(false);
  });
});
