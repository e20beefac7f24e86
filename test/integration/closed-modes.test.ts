/**
 * Private and Internal networks in real namespaces: containers reach each other; Internal's host reaches
 * them, Private's does not; nothing is routed between either and the outside or another network, even for
 * a container that adds a default route itself. ACLs apply, port mappings are refused.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";

describe.skipIf(needsRoot)("Private and Internal networks", () => {
  const lab = useLab();
  const ip: Record<string, string> = {};
  const addr = (name: string): string => ip[name] ?? "";

  beforeAll(async () => {
    const t = lab.t;
    await lab.network("prv", ["10.31.0.0/24", "fd31::/64"], { Type: "Private" });
    await lab.network("int", ["10.32.0.0/24"], { Type: "Internal" });
    await lab.network("nat", ["10.33.0.0/24"]);
    for (const [name, network] of [
      ["p1", "prv"],
      ["p2", "prv"],
      ["i1", "int"],
      ["i2", "int"],
      ["n1", "nat"],
    ] as const) {
      const ep = await lab.container(name, network);
      ip[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
    }
    // Containers that try to get out anyway, and an outside that knows the way in.
    await must(["ip", "-n", t.ns("i1"), "route", "add", "default", "via", "10.32.0.1"]);
    await must(["ip", "-n", t.ext, "route", "add", "10.32.0.0/24", "via", t.hostIp4]);
  });

  it("connects containers of a Private network to each other only: the host has no address on it, not even link-local", async () => {
    const t = lab.t;
    expect(await ping(t.ns("p1"), addr("p2"))).toBe(true);
    expect(await ping(t.host, addr("p1"))).toBe(false);
    expect(await ping(t.ns("p1"), t.hostIp4)).toBe(false);
    const { Bridge } = await lab.d.ok<{ Bridge: string }>("GET", "/networks/prv");
    expect(await must(["ip", "-n", t.host, "addr", "show", "dev", Bridge])).not.toContain("inet");
  });

  it("connects containers of an Internal network to each other and to the host, and to nothing else", async () => {
    const t = lab.t;
    expect(await ping(t.ns("i1"), addr("i2"))).toBe(true);
    expect(await ping(t.host, addr("i1"))).toBe(true);
    expect(await ping(t.ns("i1"), "10.32.0.1")).toBe(true);
    expect(await ping(t.ns("i1"), t.extIp4)).toBe(false);
    expect(await ping(t.ext, addr("i1"))).toBe(false);
    expect(await ping(t.ns("n1"), addr("i1"))).toBe(false);
    expect(await ping(t.ns("i1"), addr("n1"))).toBe(false);
  });

  it("enforces ACLs on Internal endpoints", async () => {
    const t = lab.t;
    await lab.d.ok("POST", "/endpoints/i2/policies", {
      RequestType: "Add",
      Policies: [
        { Type: "ACL", Settings: { Action: "Block", Direction: "In", Protocols: "1", Priority: 100 } },
      ],
    });
    expect(await ping(t.ns("i1"), addr("i2"))).toBe(false);
    expect(await ping(t.host, addr("i2"))).toBe(false);
    await lab.d.ok("POST", "/endpoints/i2/policies", { RequestType: "Update", Policies: [] });
    expect(await ping(t.ns("i1"), addr("i2"))).toBe(true);
  });

  it("refuses port mappings on networks without a way in, naming the field", async () => {
    const r = await lab.d.api("POST", "/endpoints", {
      Name: "mapped",
      HostComputeNetwork: "int",
      Policies: [{ Type: "PortMapping", Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } }],
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: { field: "Policies[0].Settings" } });
    // The route i1 added itself goes through hostnet's interface, so hostnet would take it out again.
    await must(["ip", "-n", lab.t.ns("i1"), "route", "del", "default"]);
    expect(await lab.plan()).toEqual([]);
  });
});
