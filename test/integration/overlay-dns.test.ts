/**
 * Names across the hosts of an overlay network (helpers/overlay-lab.ts: two host namespaces, a real etcd): an
 * endpoint created on host 2 is found by name, alias and address from a container on host 1, through host 1's
 * resolver on the network's gateway, as glibc's getent and busybox nslookup ask it; host 2, which learnt the
 * network from etcd, has its Domain too; the name goes from host 1 when host 2 deletes the endpoint.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { createUnderlay, daemonAt, startHostDaemons, type Underlay } from "../helpers/overlay-lab.js";
import { within } from "../helpers/poll.js";
import { needsRoot } from "../helpers/root.js";
import { run } from "../helpers/run.js";

const GATEWAY = "10.57.0.1";

interface EndpointBody {
  ID: string;
  IpConfigurations: { IpAddress: string }[];
}

describe.skipIf(needsRoot)("names across two hosts of an overlay network", () => {
  const cleanup = new Cleanup();
  let u: Underlay;
  const d: TestDaemon[] = [];
  const address: Record<string, string> = {};

  /** A namespace and an endpoint in it on the host of index `host` (0 is host 1). */
  const container = async (host: number, name: string, extra: Record<string, unknown> = {}) => {
    const daemon = daemonAt(d, host);
    const ns = `${u.prefix}${name}`;
    await daemon.ok("POST", "/namespaces", { Name: ns });
    const ep = await daemon.ok<EndpointBody>("POST", "/endpoints", {
      Name: name,
      HostComputeNetwork: "ovd",
      HostComputeNamespace: ns,
      ...extra,
    });
    address[name] = ep.IpConfigurations[0]?.IpAddress ?? "";
    return ep;
  };
  const getent = async (name: string, key: string): Promise<string> =>
    (await run(["ip", "netns", "exec", `${u.prefix}${name}`, "getent", "hosts", key])).stdout;
  const nslookup = async (name: string, key: string): Promise<string> =>
    (await run(["ip", "netns", "exec", `${u.prefix}${name}`, "busybox", "nslookup", key, GATEWAY])).stdout;

  beforeAll(async () => {
    u = await createUnderlay(2);
    cleanup.add(() => u.destroy());
    d.push(...(await startHostDaemons(cleanup, u.hosts, ["--etcd", u.etcdUrl])));
    await daemonAt(d, 0).ok("POST", "/networks", {
      Name: "ovd",
      Type: "Overlay",
      Ipams: [{ Subnets: [{ IpAddressPrefix: "10.57.0.0/16" }] }],
      Policies: [{ Type: "VSID", Settings: { IsolationId: 4200 } }],
      Dns: { Domain: "ov.test" },
    });
    expect(
      await within(5000, async () => (await daemonAt(d, 1).api("GET", "/networks/ovd")).status === 200),
    ).toBeDefined();
  }, 60_000);
  afterAll(() => cleanup.run());

  it("answers a container on host 1 with the name, alias and address of an endpoint on host 2", async () => {
    await container(0, "a");
    await container(1, "b", { Aliases: ["bee"] });
    const b = address["b"] ?? "?";
    const found = await within(5000, async () => (await getent("a", "b")).startsWith(`${b} `));
    expect(found, "b resolvable on host 1").toBeDefined();
    expect(await getent("a", "bee")).toMatch(new RegExp(`^${b.replaceAll(".", "\\.")}\\s`));
    expect(await nslookup("a", "bee")).toContain(`Address: ${b}`);
    expect(await getent("a", b)).toMatch(/\sb\.ov\.test$/m);
  });

  it("gives host 2 the network's Dns from the cluster's definition: its resolv.conf and NAME.DOMAIN", async () => {
    const resolvConf = await readFile(`/etc/netns/${u.prefix}b/resolv.conf`, "utf8");
    expect(resolvConf).toContain(`nameserver ${GATEWAY}\nsearch ov.test\n`);
    expect(await getent("b", "a.ov.test")).toMatch(
      new RegExp(`^${(address["a"] ?? "?").replaceAll(".", "\\.")}\\s`),
    );
  });

  it("refuses on host 1 a name an endpoint of host 2 has on the network (409)", async () => {
    const clash = await daemonAt(d, 0).api("POST", "/endpoints", {
      Name: "c",
      HostComputeNetwork: "ovd",
      Aliases: ["bee"],
    });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ error: { field: "Aliases[0]" } });
  });

  it("forgets the name on host 1 once host 2 deletes its endpoint", async () => {
    await daemonAt(d, 1).ok("DELETE", "/endpoints/b");
    const gone = await within(5000, async () => /NXDOMAIN|can't find/.test(await nslookup("a", "b")));
    expect(gone).toBeDefined();
  });
});
