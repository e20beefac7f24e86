/**
 * hostnet as a CNI plugin, run exactly as libcni runs it (test/helpers/libcni/): the installed
 * `hostnet-cni` executable, env and stdin in, result and exit code out, results cached for DEL and CHECK.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { CniError, LibCni, type NetworkConfigList } from "../helpers/libcni/index.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";
import { ping } from "../helpers/topology.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

const HOSTNET_CLI = join(import.meta.dirname, "../../dist/bin/hostnet.js");
const REFERENCE_PLUGINS = "/usr/lib/cni";
const SUBNET = "10.61.0.0/24";

interface Interface {
  name: string;
  sandbox?: string;
}
interface Ip {
  address: string;
  interface?: number;
  version?: string;
}

describe.skipIf(needsRoot)("the hostnet CNI plugin under a libcni-faithful runtime", () => {
  const lab = useLab();
  let cni: LibCni;
  let dir: string;

  const hostnet = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: "hostnet",
    network: "cni",
    socket: lab.d.socket,
    ipam: { subnet: SUBNET },
    capabilities: { portMappings: true, bandwidth: true },
    ...extra,
  });
  const list = (cniVersion: string, plugins = [hostnet()]): NetworkConfigList => ({
    cniVersion,
    name: `hostnet-${cniVersion.replaceAll(".", "")}`,
    plugins,
  });
  /** A container's namespace, made as a runtime makes it. */
  async function sandbox(role: string): Promise<string> {
    const name = lab.t.ns(role);
    await must(["ip", "netns", "add", name]);
    return `/run/netns/${name}`;
  }
  const endpoints = async (): Promise<{ Name: string }[]> => lab.d.ok("GET", "/endpoints");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hostnet-cni-"));
    lab.cleanup.add(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    await must([
      process.execPath,
      HOSTNET_CLI,
      "install-cni",
      "--bin-dir",
      join(dir, "bin"),
      "--conf-dir",
      join(dir, "conf"),
    ]);
    cni = new LibCni({
      pluginDirs: [join(dir, "bin"), REFERENCE_PLUGINS],
      cacheDir: join(dir, "cache"),
      hostNs: lab.t.host,
    });
  });

  it.each(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])(
    "runs ADD, CHECK, DEL, DEL in spec %s, with a published port that answers",
    async (version) => {
      const netns = await sandbox(`v${version.replaceAll(".", "")}`);
      const hostPort = 30000 + Number(version.replaceAll(".", ""));
      const rt = {
        containerId: `ctr-${version}`,
        netns,
        ifName: "eth0",
        capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
      };
      const result = await cni.addNetworkList(list(version), rt);
      expect(result["cniVersion"]).toBe(version);
      const ips = result["ips"] as Ip[];
      expect(ips).toHaveLength(1);
      expect("version" in (ips[0] ?? {})).toBe(version.startsWith("0."));
      expect((result["interfaces"] as Interface[])[1]).toMatchObject({ name: "eth0", sandbox: netns });
      const address = (ips[0]?.address ?? "").split("/")[0] ?? "";
      const server = await startEchoServers(netns.split("/").at(-1) ?? "", 80);
      try {
        expect(await askTcp(lab.t.ext, lab.t.hostIp4, hostPort)).toBe(lab.t.extIp4);
        expect(await ping(netns.split("/").at(-1) ?? "", lab.t.extIp4)).toBe(true);
      } finally {
        await server.stop();
      }
      expect(address).toMatch(/^10\.61\.0\./);
      if (version !== "0.3.0" && version !== "0.3.1") await cni.checkNetworkList(list(version), rt);
      await cni.delNetworkList(list(version), rt);
      await cni.delNetworkList(list(version), rt);
      expect(await endpoints()).toEqual([]);
      expect(await lab.plan()).toEqual([]);
    },
  );

  it("chains after loopback and before tuning, keeping their results and sysctls", async () => {
    const netns = await sandbox("chain");
    const chain = list("1.0.0", [
      { type: "loopback" },
      hostnet(),
      { type: "tuning", sysctl: { "net.ipv4.conf.eth0.arp_notify": "1" } },
    ]);
    const rt = { containerId: "ctr-chain", netns, ifName: "eth0" };
    const result = await cni.addNetworkList(chain, rt);
    const interfaces = result["interfaces"] as Interface[];
    expect(interfaces.map((i) => i.name)).toEqual(["lo", expect.stringMatching(/^hnv-/), "eth0"]);
    const ours = (result["ips"] as Ip[]).filter((ip) => ip.address.startsWith("10.61."));
    expect(ours.map((ip) => ip.interface)).toEqual([2]);
    const sysctl = await must(
      inNs(netns.split("/").at(-1) ?? "", ["cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify"]),
    );
    expect(sysctl.trim()).toBe("1");
    await cni.checkNetworkList(chain, rt);
    await cni.delNetworkList(chain, rt);
    expect(await endpoints()).toEqual([]);
  });

  it("DEL succeeds after the runtime deleted the netns, leaving no link behind", async () => {
    const netns = await sandbox("gone");
    const rt = { containerId: "ctr-gone", netns, ifName: "eth0" };
    await cni.addNetworkList(list("1.0.0"), rt);
    await must(["ip", "netns", "del", netns.split("/").at(-1) ?? ""]);
    await cni.delNetworkList(list("1.0.0"), rt);
    expect(await endpoints()).toEqual([]);
    expect(await lab.plan()).toEqual([]);
    const links = await must(["ip", "-n", lab.t.host, "-o", "link", "show"]);
    expect(links).not.toMatch(/hnv-/);
  });

  it("refuses an ADD whose ifname exists in the netns, and leaves nothing", async () => {
    const netns = await sandbox("taken");
    await must([
      "ip",
      "-n",
      netns.split("/").at(-1) ?? "",
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "other0",
    ]);
    const err = await cni
      .addNetworkList(list("1.0.0"), { containerId: "ctr-taken", netns, ifName: "eth0" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(100);
    expect(await endpoints()).toEqual([]);
    await cni.delNetworkList(list("1.0.0"), { containerId: "ctr-taken", netns, ifName: "eth0" });
  });

  it("refuses (code 4, naming CNI_NETNS) a netns that is no network namespace, or hostnetd's own", async () => {
    for (const [netns, why] of [
      ["/etc/passwd", "is not a network namespace"],
      [`/run/netns/${lab.t.host}`, "is hostnetd's own network namespace"],
    ] as const) {
      const err = await cni
        .addNetworkList(list("1.0.0"), { containerId: "ctr-bad-netns", netns, ifName: "eth0" })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CniError);
      expect([(err as CniError).code, (err as CniError).msg]).toEqual([
        4,
        expect.stringContaining(`CNI_NETNS: ${netns} ${why}`),
      ]);
    }
    expect(await endpoints()).toEqual([]);
    expect(await lab.d.ok("GET", "/namespaces")).toEqual([]);
    expect(await lab.plan()).toEqual([]);
  });

  it("parallel ADDs of different containers never collide; GC removes what the runtime no longer lists", async () => {
    const rts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => ({
        containerId: `ctr-p${i}`,
        netns: await sandbox(`p${i}`),
        ifName: "eth0",
      })),
    );
    const results = await Promise.all(rts.map((rt) => cni.addNetworkList(list("1.1.0"), rt)));
    const addresses = results.map((r) => (r["ips"] as Ip[])[0]?.address);
    expect(new Set(addresses).size).toBe(8);
    await cni.gcNetworkList(list("1.1.0"), [{ containerID: "ctr-p0", ifname: "eth0" }]);
    expect((await endpoints()).map((e) => e.Name)).toEqual(["cni-ctr-p0"]);
    await cni.delNetworkList(list("1.1.0"), rts[0] ?? { containerId: "", netns: "", ifName: "" });
    expect(await endpoints()).toEqual([]);
    expect(await lab.plan()).toEqual([]);
  });

  it("reports STATUS, and code 11 (50 for STATUS) when hostnetd is not there", async () => {
    await cni.getStatusNetworkList(list("1.1.0"));
    const down = list("1.1.0", [hostnet({ socket: join(dir, "nobody.sock") })]);
    const status = await cni.getStatusNetworkList(down).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((status as CniError).code).toBe(50);
    const netns = await sandbox("down");
    const add = await cni.addNetworkList(down, { containerId: "ctr-down", netns, ifName: "eth0" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((add as CniError).code).toBe(11);
  });
});
