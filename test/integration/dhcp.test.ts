/**
 * A Transparent network whose endpoints lease their IPv4 addresses from the LAN: busybox's udhcpd serves
 * the LAN of namespaces from the router, with 10-second leases, and hostnet runs a client per endpoint that
 * keeps its lease, also across a hostnetd restart.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createLan, LAN_HOST, ROUTER, type Lan } from "../helpers/lan.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";

const LEASE_SECONDS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(needsRoot)("Transparent networks with addresses from the LAN's DHCP server", () => {
  let lan: Lan;
  const lab = useLab({
    async prepare(t) {
      lan = await createLan(t);
    },
  });
  let leases: string;

  /** The DHCP client processes running in a container's network namespace. */
  const clientsOf = (container: string): string[] => {
    const netns = statSync(`/run/netns/${lab.t.ns(container)}`, { throwIfNoEntry: false })?.ino;
    return readdirSync("/proc")
      .filter((pid) => /^\d+$/.test(pid))
      .filter((pid) => {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
          return argv.includes("udhcpc") && statSync(`/proc/${pid}/ns/net`).ino === netns;
        } catch {
          return false;
        }
      });
  };

  async function leaseOf(endpoint: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const ep = await lab.d.ok<{ IpConfigurations: { IpAddress: string }[] }>(
        "GET",
        `/endpoints/${endpoint}`,
      );
      const address = ep.IpConfigurations.find((c) => !c.IpAddress.includes(":"))?.IpAddress;
      if (address !== undefined) return address;
      await sleep(200);
    }
    throw new Error(`${endpoint} got no lease`);
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "hostnet-dhcp-"));
    lab.cleanup.add(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    leases = join(dir, "leases");
    writeFileSync(leases, "");
    writeFileSync(
      join(dir, "udhcpd.conf"),
      [
        "start 10.70.0.100",
        "end 10.70.0.150",
        "interface eth0",
        `lease_file ${leases}`,
        "auto_time 1",
        `option router ${ROUTER}`,
        "option subnet 255.255.255.0",
        `option lease ${LEASE_SECONDS}`,
        `min_lease ${LEASE_SECONDS}`,
        "",
      ].join("\n"),
    );
    const server = spawn(
      "nsenter",
      [`--net=/run/netns/${lan.router}`, "busybox", "udhcpd", "-f", join(dir, "udhcpd.conf")],
      {
        stdio: "ignore",
      },
    );
    lab.cleanup.add(async () => {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    });
    await lab.d.ok("POST", "/networks", {
      Name: "lan",
      Type: "Transparent",
      Ipams: [
        { Type: "DHCP", Subnets: [{ IpAddressPrefix: "10.70.0.0/24", Routes: [{ NextHop: ROUTER }] }] },
      ],
      Policies: [{ Type: "NetAdapterName", Settings: { NetworkAdapterName: "lan0" } }],
    });
    await lab.container("c1", "lan");
  });

  it("gives the endpoint a lease from the LAN, reachable from the LAN", async () => {
    const address = await leaseOf("c1");
    expect(address).toMatch(/^10\.70\.0\.1\d\d$/);
    expect(await must(["ip", "-n", lab.t.ns("c1"), "-4", "addr", "show", "dev", "eth0"])).toContain(
      `${address}/24`,
    );
    expect(await must(["ip", "-n", lab.t.ns("c1"), "route"])).toContain(`default via ${ROUTER}`);
    expect(await ping(lab.t.ns("lh"), address)).toBe(true);
    expect(await ping(lab.t.ns("c1"), LAN_HOST)).toBe(true);
  });

  it("renews the lease before it runs out, and keeps it across a hostnetd restart", async () => {
    const address = await leaseOf("c1");
    await lab.d.kill("SIGKILL");
    await lab.d.restart();
    await sleep(LEASE_SECONDS * 1500);
    expect(await leaseOf("c1")).toBe(address);
    expect(await ping(lab.t.ns("lh"), address)).toBe(true);
    // udhcpd writes its lease file every second (auto_time 1): the lease is still the server's.
    expect(readFileSync(leases).includes(Buffer.from(address.split(".").map(Number)))).toBe(true);
    expect(clientsOf("c1")).toHaveLength(1);
  });

  it("stops the client when the endpoint goes", async () => {
    await lab.d.ok("DELETE", "/endpoints/c1");
    for (let i = 0; i < 20 && clientsOf("c1").length > 0; i++) await sleep(100);
    expect(clientsOf("c1")).toEqual([]);
  });
});
