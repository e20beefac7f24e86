import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { must } from "../helpers/run.js";
import type { Topology } from "../helpers/topology.js";

interface ErrorBody {
  error: { field?: string };
}

const route = (
  DestinationPrefix: string,
  NextHop: string,
): { Type: string; Settings: Record<string, string> } => ({
  Type: "SDNRoute",
  Settings: { DestinationPrefix, NextHop },
});

describe.skipIf(needsRoot)("SDNRoute policies: routes inside the compartment", () => {
  const lab = useLab();
  let t: Topology;
  let d: TestDaemon;
  const routes = async (): Promise<{ dst: string; gateway?: string }[]> =>
    JSON.parse(await must(["ip", "-n", t.ns("r1"), "-j", "route", "show", "table", "all"])) as {
      dst: string;
      gateway?: string;
    }[];

  beforeAll(async () => {
    ({ t, d } = lab);
    await lab.network("n1", ["10.24.0.0/24", "fd24::/64"]);
    await d.ok("POST", "/namespaces", { Name: t.ns("r1") });
    await d.ok("POST", "/endpoints", {
      Name: "r1",
      HostComputeNetwork: "n1",
      HostComputeNamespace: t.ns("r1"),
      Policies: [route("198.51.100.0/24", "10.24.0.50"), route("2001:db8:99::/48", "fd24::50")],
    });
  });

  it("adds the routes in the endpoint's namespace, and the plan stays empty", async () => {
    expect(await routes()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: "198.51.100.0/24", gateway: "10.24.0.50" }),
        expect.objectContaining({ dst: "2001:db8:99::/48", gateway: "fd24::50" }),
      ]),
    );
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
  });

  it("refuses a next hop off the network's subnets, naming the field", async () => {
    const res = await d.api("POST", "/endpoints/r1/policies", {
      RequestType: "Add",
      Policies: [route("203.0.113.0/24", "10.99.0.1")],
    });
    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error.field).toBe("Policies[0].Settings.NextHop");
  });

  it("removes a route with its policy", async () => {
    await d.ok("POST", "/endpoints/r1/policies", {
      RequestType: "Remove",
      Policies: [route("198.51.100.0/24", "10.24.0.50")],
    });
    const dsts = (await routes()).map((r) => r.dst);
    expect(dsts).not.toContain("198.51.100.0/24");
    expect(dsts).toContain("2001:db8:99::/48");
  });
});
