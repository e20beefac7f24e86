/**
 * A real Docker engine end to end: Debian's docker.io 20.10 in the test's host namespace (its own data root,
 * exec root and socket; see helpers/docker-engine.ts) finds hostnetd's plugin socket and uses hostnet as its
 * network and IPAM driver. Containers reach each other and the external namespace, a published port answers
 * from outside (through hostnet's jump in DOCKER-USER, with FORWARD's policy DROP), Docker's objects survive
 * a hostnetd restart, errors reach the user in Docker's words, and removing everything leaves no hostnet
 * kernel object behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  dockerSkipReason,
  runWebServer,
  startDockerEngine,
  type DockerEngine,
} from "../helpers/docker-engine.js";
import { iptables, iptablesRules } from "../helpers/iptables.js";
import { linkNames, nftElements } from "../helpers/kernel-state.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";
import { startHostServer } from "../helpers/traffic.js";

const skipReason = needsRoot ? undefined : dockerSkipReason();
const SUBNET = "10.63.0.0/24";
const SUBNET2 = "10.64.0.0/24";
const HOST_PORT = 30081;
const EXT_PORT = 7001;

interface NetworkBody {
  ID: string;
  Name: string;
  Type: string;
  Origin?: { Kind: string; Key: string };
  Ipams: { Subnets: { IpAddressPrefix: string }[] }[];
}
interface EndpointBody {
  ID: string;
  Name: string;
  MacAddress: string;
  HostInterfaceName: string;
  Sandbox?: string;
  IpConfigurations: { IpAddress: string }[];
  Policies: { Type: string }[];
}

const OWNED_LINK = /^hn[bvci]-/;
const DOCKER_USER_JUMP = "-A DOCKER-USER -m comment --comment hostnet -j HOSTNET-FORWARD";

describe.skipIf(needsRoot || skipReason !== undefined)(
  "Docker with hostnet as its network and IPAM driver",
  () => {
    const lab = useLab();
    let engine: DockerEngine;
    let networkId: string;

    const docker = (...args: string[]): Promise<string> => engine.mustDocker(args, 60_000);
    const address = async (container: string, network: string): Promise<string> =>
      (
        await docker(
          "inspect",
          "-f",
          `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
          container,
        )
      ).trim();
    const endpoints = (): Promise<EndpointBody[]> => lab.d.ok<EndpointBody[]>("GET", "/endpoints");
    /** What a client on the external namespace gets from the published port: the container's page. */
    const page = async (): Promise<string> => {
      const r = await run(
        inNs(lab.t.ext, ["socat", "-T", "3", "-", `TCP4:${lab.t.hostIp4}:${HOST_PORT},connect-timeout=3`]),
        {
          input: "GET / HTTP/1.0\r\n\r\n",
          timeoutMs: 10_000,
        },
      );
      return r.stdout;
    };
    beforeAll(async () => {
      // hostnetd (started by the lab) has enabled forwarding, so dockerd leaves the FORWARD policy alone; the
      // test sets it to DROP, as ufw does: everything hostnet forwards below passes its jump in DOCKER-USER.
      engine = await startDockerEngine({
        netns: lab.t.host,
        pluginDir: lab.d.pluginDir,
        prefix: lab.t.prefix,
      });
      lab.cleanup.add(() => engine.stop());
      await iptables(lab.t.host, "nft", "-P", "FORWARD", "DROP");
      const ext = await startHostServer(lab.t.ext, lab.t.extIp4, EXT_PORT);
      lab.cleanup.add(() => ext.stop());
    });

    it("creates a hostnet network, tagged as Docker's, with hostnet's IPAM", async () => {
      networkId = (
        await docker(
          "network",
          "create",
          "--driver",
          "hostnet",
          "--ipam-driver",
          "hostnet",
          "--subnet",
          SUBNET,
          "hn",
        )
      ).trim();
      const [net, ...more] = await lab.d.ok<NetworkBody[]>("GET", "/networks");
      expect(more).toEqual([]);
      expect(net).toMatchObject({
        Name: `docker-${networkId.slice(0, 12)}`,
        Origin: { Kind: "docker", Key: networkId },
        Ipams: [{ Subnets: [{ IpAddressPrefix: SUBNET }] }],
      });
      // dockerd came after hostnetd: the network's converge found Docker's chain and jumped from it.
      expect(await iptablesRules(lab.t.host, "nft", "DOCKER-USER")).toContain(DOCKER_USER_JUMP);
    });

    it("runs containers that reach each other and the outside, with a published port and Docker's --ip and --mac-address", async () => {
      await runWebServer(engine, "c1", "--network", "hn", "--publish", `${HOST_PORT}:80`);
      await docker(
        "run",
        "--detach",
        "--name",
        "c2",
        "--network",
        "hn",
        "--ip",
        "10.63.0.50",
        "--mac-address",
        "02:42:0a:3f:00:32",
        engine.image,
        "sleep",
        "3600",
      );
      const c1 = await address("c1", "hn");
      expect(c1).toMatch(/^10\.63\.0\.\d+$/);
      expect(await address("c2", "hn")).toBe("10.63.0.50");

      const eps = await endpoints();
      expect(eps).toHaveLength(2);
      const c2ep = eps.find((e) => e.IpConfigurations.some((ip) => ip.IpAddress === "10.63.0.50"));
      expect(c2ep?.MacAddress).toBe("02:42:0a:3f:00:32");
      expect(c2ep?.Sandbox).toMatch(/netns/);
      // Docker moved the handed-off container end; only the host ends stay in the host namespace.
      const links = await linkNames(lab.t.host);
      expect(links.filter((l) => l.startsWith("hnc-"))).toEqual([]);
      expect(links.filter((l) => l.startsWith("hnv-"))).toHaveLength(2);
      expect(await docker("exec", "c2", "cat", "/sys/class/net/eth0/address")).toContain("02:42:0a:3f:00:32");
      // The gateway Join answered is the default route: no docker_gwbridge.
      expect(await docker("exec", "c2", "ip", "route")).toContain("default via 10.63.0.1 dev eth0");
      expect(links).not.toContain("docker_gwbridge");

      await docker("exec", "c2", "ping", "-c", "1", "-W", "2", c1);
      expect((await docker("exec", "c2", "nc", lab.t.extIp4, String(EXT_PORT))).trim()).toBe(lab.t.hostIp4);
      expect(await page()).toContain("c1");
    });

    it("keeps Docker's networks and endpoints across a hostnetd restart, and runs a third container after it", async () => {
      await lab.d.kill("SIGKILL");
      await lab.d.restart();
      expect(await page()).toContain("c1");
      await docker("run", "--detach", "--name", "c3", "--network", "hn", engine.image, "sleep", "3600");
      await docker("exec", "c3", "ping", "-c", "1", "-W", "2", await address("c1", "hn"));
      expect(await endpoints()).toHaveLength(3);
      expect(await lab.plan()).toEqual([]);
    });

    it("connects and disconnects a container, with endpoint policies from --driver-opt", async () => {
      await docker("network", "create", "--driver", "hostnet", "--subnet", SUBNET2, "hn2");
      const acl = JSON.stringify([
        {
          Type: "ACL",
          Settings: { Action: "Block", Direction: "In", Protocols: "6", LocalPorts: "22", Priority: 100 },
        },
      ]);
      // --driver-opt is a CSV field: quoted, with its quotes doubled.
      await docker(
        "network",
        "connect",
        "--driver-opt",
        `"policies=${acl.replaceAll('"', '""')}"`,
        "hn2",
        "c2",
      );
      expect(await docker("exec", "c2", "ip", "-4", "addr", "show", "dev", "eth1")).toContain("10.64.0.");
      await docker("exec", "c2", "ping", "-c", "1", "-W", "2", "10.64.0.1");
      const connected = (await endpoints()).find((e) =>
        e.IpConfigurations.some((ip) => ip.IpAddress.startsWith("10.64.")),
      );
      expect(connected?.Policies.map((p) => p.Type)).toContain("ACL");

      await docker("network", "disconnect", "hn2", "c2");
      expect(await endpoints()).toHaveLength(3);
      expect(await linkNames(lab.t.host)).not.toContain(connected?.HostInterfaceName);
      await docker("network", "rm", "hn2");
    });

    it("makes dual-stack networks with --ipv6, hostnet's IPAM picking the IPv6 subnet", async () => {
      await docker("network", "create", "--driver", "hostnet", "--ipam-driver", "hostnet", "--ipv6", "hn6");
      await docker("run", "--detach", "--name", "c6", "--network", "hn6", engine.image, "sleep", "3600");
      const v6 = (
        await docker("inspect", "-f", '{{(index .NetworkSettings.Networks "hn6").GlobalIPv6Address}}', "c6")
      ).trim();
      expect(v6).toMatch(/^fd68:6f73:746e:/);
      const gateway = (
        await docker("inspect", "-f", '{{(index .NetworkSettings.Networks "hn6").IPv6Gateway}}', "c6")
      ).trim();
      await docker("exec", "c6", "ping", "-6", "-c", "1", "-W", "2", gateway);
      await docker("rm", "--force", "c6");
      await docker("network", "rm", "hn6");
    });

    it("makes --internal networks hostnet's Internal mode: the host and nothing beyond, and no docker_gwbridge", async () => {
      await docker(
        "network",
        "create",
        "--driver",
        "hostnet",
        "--internal",
        "--subnet",
        "10.65.0.0/24",
        "hni",
      );
      await docker("run", "--detach", "--name", "ci", "--network", "hni", engine.image, "sleep", "3600");
      expect((await lab.d.ok<NetworkBody[]>("GET", "/networks")).map((n) => n.Type)).toContain("Internal");
      expect(await docker("exec", "ci", "ip", "route")).not.toContain("default");
      await docker("exec", "ci", "ping", "-c", "1", "-W", "2", "10.65.0.1");
      expect((await engine.docker(["exec", "ci", "ping", "-c", "1", "-W", "1", lab.t.extIp4])).code).not.toBe(
        0,
      );
      expect(await linkNames(lab.t.host)).not.toContain("docker_gwbridge");
      await docker("rm", "--force", "ci");
      await docker("network", "rm", "hni");
    });

    it("serves as IPAM driver alone, for Docker's own bridge driver", async () => {
      await docker("network", "create", "--driver", "bridge", "--ipam-driver", "hostnet", "plain");
      const subnet = (
        await docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "plain")
      ).trim();
      // Docker's docker0 holds 172.17.0.0/16 and hn holds SUBNET: hostnet picks around both.
      expect(subnet).toMatch(/^172\.(1[689]|2\d|3[01])\.0\.0\/16$/);
      expect(subnet).not.toBe("172.17.0.0/16");
      await docker("network", "rm", "plain");
    });

    it("reports what hostnet refuses in Docker's words, naming the option", async () => {
      const r = await engine.docker(["network", "create", "--driver", "hostnet", "-o", "vlan=5", "bad"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Options["com.docker.network.generic"].vlan: NAT networks have no VLANs');
      const taken = await engine.docker([
        "run",
        "--detach",
        "--name",
        "c4",
        "--network",
        "hn",
        "--publish",
        `${HOST_PORT}:80`,
        engine.image,
        "sleep",
        "3600",
      ]);
      expect(taken.code).not.toBe(0);
      expect(taken.stderr).toContain(`host port *:${HOST_PORT}/tcp is already mapped`);
      await engine.docker(["rm", "--force", "c4"]);
      expect(await endpoints()).toHaveLength(3);
    });

    it("removes everything: no hostnet network, endpoint or kernel object is left", async () => {
      await docker("rm", "--force", "c1", "c2", "c3");
      await docker("network", "rm", "hn");
      expect(await lab.d.ok("GET", "/networks")).toEqual([]);
      expect(await endpoints()).toEqual([]);
      expect((await linkNames(lab.t.host)).filter((l) => OWNED_LINK.test(l))).toEqual([]);
      expect(await nftElements(lab.t.host)).toEqual([]);
      expect(await iptablesRules(lab.t.host, "nft", "DOCKER-USER")).not.toContain(DOCKER_USER_JUMP);
      expect(await lab.plan()).toEqual([]);
    });
  },
);
