import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import type { TestDaemon } from "../helpers/daemon.js";
import { run, type RunResult } from "../helpers/run.js";
import type { Topology } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

const HOSTNET = resolve(import.meta.dirname, "../../dist/bin/hostnet.js");

describe.skipIf(needsRoot)("the hostnet command against a real hostnetd", () => {
  // The topology's uplink holds 192.0.2.1: with it, hostnetd routes overlay networks of its own (no --etcd).
  const lab = useLab({ daemonArgs: ["--no-default-network", "--host-address", "192.0.2.1"] });
  const { cleanup } = lab;
  let t: Topology;
  let d: TestDaemon;
  const hostnet = (...args: string[]): Promise<RunResult> =>
    run([process.execPath, HOSTNET, "--socket", d.socket, ...args]);

  beforeAll(() => {
    ({ t, d } = lab);
  });

  it("creates a dual-stack network, a namespace and a published endpoint that answers", async () => {
    expect(
      (
        await hostnet(
          "network",
          "create",
          "web",
          "--type",
          "nat",
          "--subnet",
          "10.44.0.0/24",
          "--subnet",
          "fd44::/64",
        )
      ).code,
    ).toBe(0);
    expect((await hostnet("namespace", "create", t.ns("w1"))).code).toBe(0);
    const created = await hostnet(
      "endpoint",
      "create",
      "w1",
      "--network",
      "web",
      "--namespace",
      t.ns("w1"),
      "--ip",
      "10.44.0.10",
      "--publish",
      "8088:80",
      "--publish",
      `${t.hostIp4}:8089:80/tcp`,
    );
    expect(created).toMatchObject({ code: 0, stderr: "" });
    cleanup.track(await startEchoServers(t.ns("w1"), 80));
    expect(await askTcp(t.ext, t.hostIp4, 8088)).toBe(t.extIp4);
    expect(await askTcp(t.ext, t.hostIp4, 8089)).toBe(t.extIp4);

    const ls = await hostnet("endpoint", "ls");
    expect(ls.stdout).toMatch(/w1\s+web\s+/);
    expect(ls.stdout).toContain("10.44.0.10");
    const inspect = JSON.parse((await hostnet("endpoint", "inspect", "w1")).stdout) as { MacAddress: string };
    expect(inspect.MacAddress).toMatch(/^02:/);
    expect((await hostnet("plan")).stdout).toMatch(/nothing to change/);

    expect(
      (await hostnet("policy", "add", "w1", "--acl", "action=allow,dir=in,proto=tcp,lport=80")).code,
    ).toBe(0);
    expect(await askTcp(t.ext, t.hostIp4, 8088)).toBe(t.extIp4);
    const row = (await hostnet("policy", "ls", "w1")).stdout.split("\n")[1] ?? "";
    expect(Number(row.trim().split(/\s+/).at(-2))).toBeGreaterThan(0);
    expect((await hostnet("policy", "rm", "w1", "--all")).code).toBe(0);
  });

  it("prints the API's answer as YAML, and wide tables with the host end of a veth, without colour off a terminal", async () => {
    const listed = parse((await hostnet("-o", "yaml", "endpoint", "ls", "--network", "web")).stdout) as {
      Name: string;
      HostInterfaceName: string;
    }[];
    expect(listed.map((e) => e.Name)).toStrictEqual(["w1"]);
    const yaml: unknown = parse((await hostnet("endpoint", "inspect", "w1", "--output", "yaml")).stdout);
    expect(yaml).toStrictEqual(JSON.parse((await hostnet("endpoint", "inspect", "w1")).stdout));
    const wide = await hostnet("endpoint", "ls", "-o", "wide");
    expect(wide).toMatchObject({ code: 0, stderr: "" });
    expect(wide.stdout.split("\n")[0]).toContain("HOST IFNAME");
    expect(wide.stdout).toContain(listed[0]?.HostInterfaceName ?? "no endpoint");
    expect(wide.stdout).not.toContain("\x1b[");
  });

  it("reports refusals on one line with exit 1 and usage errors with exit 2", async () => {
    const clash = await hostnet("endpoint", "create", "w2", "--network", "web", "--publish", "8088:80");
    expect(clash.code).toBe(1);
    expect(clash.stderr.trim().split("\n")).toHaveLength(1);
    expect(clash.stderr).toMatch(/already mapped/);
    expect((await hostnet("network", "rm", "web")).code).toBe(1);
    expect((await hostnet("endpoint", "create", "w3", "--network", "web", "--publish", "80")).code).toBe(2);
    expect((await hostnet("frobnicate")).code).toBe(2);
  });

  it("detaches, re-attaches and removes, leaving nothing behind", async () => {
    expect((await hostnet("endpoint", "detach", "w1")).code).toBe(0);
    expect(await askTcp(t.ext, t.hostIp4, 8088)).toBeUndefined();
    expect((await hostnet("endpoint", "attach", "w1", "--namespace", t.ns("w1"))).code).toBe(0);
    expect(await askTcp(t.ext, t.hostIp4, 8088)).toBe(t.extIp4);
    expect((await hostnet("network", "rm", "web", "--force")).code).toBe(0);
    expect((await hostnet("namespace", "rm", t.ns("w1"))).code).toBe(0);
    expect((await hostnet("--json", "network", "ls")).stdout.trim()).toBe("[]");
  });

  it("adds, lists and removes a routed overlay's remote subnet", async () => {
    const create = ["network", "create", "vxlan0", "--type", "overlay", "--subnet", "10.244.1.0/24"];
    expect(await hostnet(...create, "--vni", "4096")).toMatchObject({ code: 0, stderr: "" });
    const route = ["--network", "vxlan0", "--remote-subnet", "10.244.2.0/24"];
    expect(await hostnet("policy", "add", ...route, "--provider", "192.168.77.2")).toStrictEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    const rows = (await hostnet("policy", "ls", "--network", "vxlan0")).stdout.trim().split("\n");
    expect(rows).toHaveLength(2);
    // Without --router-mac, the provider's hostnet bridge: 0a:68 and the four bytes of 192.168.77.2.
    expect(rows[1]).toMatch(
      /RemoteSubnetRoute .* 10\.244\.2\.0\/24 via 0a:68:c0:a8:4d:02 at 192\.168\.77\.2 /,
    );

    const overlap = await hostnet(
      ...["policy", "add", "--network", "vxlan0", "--remote-subnet", "10.244.1.0/25"],
      ...["--provider", "192.168.77.3"],
    );
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/^hostnet: Policies\[0\]\.Settings\.DestinationPrefix: .*\n$/);

    expect(await hostnet("policy", "rm", ...route)).toMatchObject({ code: 0, stderr: "" });
    expect((await hostnet("--json", "policy", "ls", "--network", "vxlan0")).stdout.trim()).toBe("[]");
    expect((await hostnet("policy", "rm", ...route)).stderr).toBe(
      'hostnet: --remote-subnet: network "vxlan0" has no route to 10.244.2.0/24\n',
    );
    expect((await hostnet("network", "rm", "vxlan0")).code).toBe(0);
  });
});
