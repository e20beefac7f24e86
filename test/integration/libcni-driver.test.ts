/**
 * The libcni driver (test/helpers/libcni/, which follows the libcni release LIBCNI_RELEASE names) proven
 * against Debian's reference plugins in /usr/lib/cni (bridge + host-local, portmap, tuning) in every spec
 * version they share with us, and, with a recording fake plugin, against the details of libcni's behaviour
 * the reference plugins cannot show: the exact stdin and environment, runtimeConfig filtering, result
 * normalization, GC and STATUS.
 *
 * Everything runs in the test's own host namespace (the plugins via nsenter) and in container namespaces
 * under the test's prefix; cache, host-local and tuning state live in a temporary directory.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Cleanup } from "../helpers/cleanup.js";
import {
  CniError,
  LIBCNI_RELEASE,
  LibCni,
  type NetworkConfigList,
  type RuntimeConf,
} from "../helpers/libcni/index.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must, run } from "../helpers/run.js";
import { createTopology, type Topology } from "../helpers/topology.js";

const REFERENCE_PLUGINS = "/usr/lib/cni";

/** A CNI plugin that logs each call (command, CNI_* env, stdin) to $RECORDER_LOG and answers predictably. */
const RECORDER = `#!${process.execPath}
const fs = require("node:fs");
const type = require("node:path").basename(process.argv[1]);
let input = "";
try { input = fs.readFileSync(0, "utf8"); } catch {}
const env = {};
for (const k of ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]) env[k] = process.env[k];
fs.appendFileSync(process.env.RECORDER_LOG, JSON.stringify({ type, env, stdin: input }) + "\\n");
const out = (v) => process.stdout.write(JSON.stringify(v));
if (env.CNI_COMMAND === "VERSION") {
  out({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  process.exit(0);
}
const conf = JSON.parse(input);
if (conf.fail === env.CNI_COMMAND) {
  out({ cniVersion: conf.cniVersion, code: 123, msg: "recorder fails", details: type });
  process.exit(1);
}
if (env.CNI_COMMAND === "ADD") {
  const prev = conf.prevResult || {};
  const ips = prev.ips || [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 0 }];
  if (conf.cniVersion.startsWith("0.")) for (const ip of ips) ip.version = "4";
  out({
    ...(conf.omitVersion ? {} : { cniVersion: conf.cniVersion }),
    interfaces: [...(prev.interfaces || []), { name: type, sandbox: env.CNI_NETNS }],
    ips,
    extra: "not in any result type",
  });
}
`;

interface Call {
  type: string;
  env: Record<string, string | undefined>;
  stdin: string;
}

interface Iface {
  name: string;
  mac?: string;
  sandbox?: string;
}
interface Ip {
  address: string;
  gateway?: string;
  interface?: number;
  version?: string;
}

describe.skipIf(needsRoot)(`the libcni driver (libcni ${LIBCNI_RELEASE})`, () => {
  const cleanup = new Cleanup();
  let t: Topology;
  let dir: string;
  let cni: LibCni;
  const log = (): string => join(dir, "recorder.log");
  const calls = (): Call[] =>
    existsSync(log())
      ? readFileSync(log(), "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Call)
      : [];
  const cacheFile = (net: string, containerId: string, ifName = "eth0"): string =>
    join(dir, "cache", "results", `${net}-${containerId}-${ifName}`);
  const sandbox = async (role: string): Promise<string> => {
    await must(["ip", "netns", "add", t.ns(role)]);
    return `/run/netns/${t.ns(role)}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hostnet-libcni-"));
    cleanup.add(() => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
    t = await createTopology();
    cleanup.add(() => t.destroy());
    mkdirSync(join(dir, "bin"));
    for (const name of ["rec-a", "rec-b"]) {
      writeFileSync(join(dir, "bin", name), RECORDER);
      chmodSync(join(dir, "bin", name), 0o755);
    }
    // The portmap of containernetworking-plugins 1.1.1 (Debian's) fails CHECK whenever ip6tables works: it
    // checks its IPv4 DNAT rules in the ip6tables nat table too (containernetworking/plugins#819). Its
    // iptables library finds ip6tables on PATH, so the plugins get a PATH with iptables only.
    mkdirSync(join(dir, "sbin"));
    for (const tool of ["iptables", "iptables-save", "iptables-restore"])
      symlinkSync(join("/usr/sbin", tool), join(dir, "sbin", tool));
    cni = new LibCni({
      pluginDirs: [join(dir, "bin"), REFERENCE_PLUGINS],
      cacheDir: join(dir, "cache"),
      hostNs: t.host,
      env: { RECORDER_LOG: log(), PATH: `${join(dir, "sbin")}:/usr/bin:/bin` },
    });
  });
  afterAll(() => cleanup.run());

  describe("with Debian's reference plugins", () => {
    const chain = (version: string): NetworkConfigList => {
      const tag = version.replaceAll(".", "");
      return {
        cniVersion: version,
        name: `${t.prefix}-v${tag}`,
        plugins: [
          {
            type: "bridge",
            bridge: `${t.prefix}b${tag}`, // run-scoped, at most 15 characters
            isGateway: true,
            ipMasq: true,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: `10.77.${Number(tag) % 256}.0/24` }]],
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: join(dir, "ipam"),
            },
          },
          { type: "portmap", capabilities: { portMappings: true }, snat: true },
          { type: "tuning", sysctl: { "net.core.somaxconn": "321" }, dataDir: join(dir, "tuning") },
        ],
      };
    };

    it.each(["0.3.1", "0.4.0", "1.0.0"])(
      "runs bridge + portmap + tuning through ADD, CHECK, DEL, DEL in spec %s",
      async (version) => {
        const tag = version.replaceAll(".", "");
        const list = chain(version);
        const netns = await sandbox(`c${tag}`);
        const hostPort = 31000 + Number(tag);
        const rt: RuntimeConf = {
          containerId: `${t.prefix}-c${tag}`,
          netns,
          ifName: "eth0",
          capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
        };
        const natRules = async (): Promise<string> => must(inNs(t.host, ["iptables-save", "-t", "nat"]));

        const result = await cni.addNetworkList(list, rt);
        expect(result["cniVersion"]).toBe(version);
        const interfaces = result["interfaces"] as Iface[];
        expect(interfaces.map((i) => i.name)).toEqual([`${t.prefix}b${tag}`, expect.any(String), "eth0"]);
        expect(interfaces[2]?.sandbox).toBe(netns);
        const ips = result["ips"] as Ip[];
        expect(ips).toHaveLength(1);
        expect(ips[0]?.address).toMatch(new RegExp(`^10\\.77\\.${Number(tag) % 256}\\.\\d+/24$`));
        expect(ips[0]?.interface).toBe(2);
        // 0.x results carry the address family; 1.0.0 dropped it.
        expect(ips[0]?.version).toBe(version.startsWith("0.") ? "4" : undefined);

        // The container has the interface with the address, and tuning's sysctl.
        const addrs = await must(["ip", "-n", t.ns(`c${tag}`), "-o", "-4", "addr", "show", "dev", "eth0"]);
        expect(addrs).toContain(ips[0]?.address ?? "none");
        expect((await must(inNs(t.ns(`c${tag}`), ["cat", "/proc/sys/net/core/somaxconn"]))).trim()).toBe(
          "321",
        );
        // portmap got the port mapping through runtimeConfig.
        expect(await natRules()).toContain(`--dport ${hostPort}`);

        // The cache entry, as libcni writes it.
        const file = cacheFile(list.name, rt.containerId);
        const cached = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
        expect(Object.keys(cached)).toEqual([
          "kind",
          "containerId",
          "config",
          "ifName",
          "networkName",
          "netns",
          "capabilityArgs",
          "result",
        ]);
        expect(cached).toMatchObject({
          kind: "cniCacheV1",
          containerId: rt.containerId,
          ifName: "eth0",
          networkName: list.name,
          netns,
          capabilityArgs: rt.capabilityArgs,
          result,
        });
        expect(Buffer.from(cached["config"] as string, "base64").toString()).toBe(JSON.stringify(list));
        expect(await cni.getCachedResult(list, rt)).toEqual(result);
        expect((await cni.getCachedAttachments(rt.containerId)).map((a) => a.network)).toEqual([list.name]);

        if (version === "0.3.1")
          await expect(cni.checkNetworkList(list, rt)).rejects.toThrow(
            'configuration version "0.3.1" does not support the CHECK command',
          );
        else await cni.checkNetworkList(list, rt);

        await cni.delNetworkList(list, rt);
        expect(existsSync(file)).toBe(false);
        const gone = await run(["ip", "-n", t.ns(`c${tag}`), "link", "show", "dev", "eth0"]);
        expect(gone.code).not.toBe(0);
        expect(await natRules()).not.toContain(`--dport ${hostPort}`);
        // host-local's store keeps only its lock and last_reserved_ip.0: no address is held any more.
        const store = readdirSync(join(dir, "ipam", list.name));
        expect(store.filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"))).toEqual([]);

        // DEL again: no cache, nothing left; every plugin still succeeds.
        await cni.delNetworkList(list, rt);
        // CHECK now has no cached result: libcni still runs the plugins, and bridge refuses.
        if (version !== "0.3.1")
          await expect(cni.checkNetworkList(list, rt)).rejects.toBeInstanceOf(CniError);
      },
    );

    it("validates a list: VERSION of each plugin, capabilities returned, 1.1.0 refused", async () => {
      expect(await cni.validateNetworkList(chain("1.0.0"))).toEqual(["portMappings"]);
      const versions = await cni.getVersionInfo("bridge");
      expect(versions).toContain("1.0.0");
      expect(versions).not.toContain("1.1.0");
      const err = await cni.validateNetworkList(chain("1.1.0")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AggregateError);
      expect((err as AggregateError).errors).toHaveLength(3);
      expect((err as Error).message).toBe(
        '[plugin bridge does not support config version "1.1.0" ' +
          'plugin portmap does not support config version "1.1.0" ' +
          'plugin tuning does not support config version "1.1.0"]',
      );
      await expect(
        cni.validateNetworkList({ ...chain("1.0.0"), plugins: [{ type: "nothere" }] }),
      ).rejects.toThrow(`failed to find plugin "nothere" in path [${join(dir, "bin")} ${REFERENCE_PLUGINS}]`);
    });

    it("reports a plugin's error as a CniError with its code, wrapped as libcni wraps it", async () => {
      const list = chain("1.0.0");
      const netns = await sandbox("bad");
      const err = await cni
        .addNetworkList(list, { containerId: `${t.prefix}-bad`, netns, ifName: "eth0:1" })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      // libcni refuses the ifname itself (utils.ValidateInterfaceName), before any exec.
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).code).toBe(4);
      expect((err as CniError).exitCode).toBeNull();
      expect((err as Error).message).toBe(
        'plugin type="bridge" failed (add): interface name contains / or : or whitespace characters',
      );
      // A plugin's own error: host-local refuses a subnet that is not one.
      const broken = chain("1.0.0");
      const bridge = broken.plugins[0] ?? {};
      broken.plugins = [{ ...bridge, ipam: { type: "host-local", ranges: [[{ subnet: "10.77.0.0/99" }]] } }];
      const plugin = await cni
        .addNetworkList(broken, { containerId: `${t.prefix}-bad`, netns, ifName: "eth0" })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(plugin).toBeInstanceOf(CniError);
      expect((plugin as CniError).exitCode).toBe(1);
      expect((plugin as CniError).code).toBeGreaterThan(0);
      expect((plugin as Error).message).toBe(
        'plugin type="bridge" failed (add): invalid CIDR address: 10.77.0.0/99',
      );
      // DEL parses the same configuration, fails the same way, and says so as libcni does.
      await expect(
        cni.delNetworkList(broken, { containerId: `${t.prefix}-bad`, netns, ifName: "eth0" }),
      ).rejects.toThrow('plugin type="bridge" failed (delete): invalid CIDR address: 10.77.0.0/99');
    });
  });

  describe("with a recording plugin", () => {
    const recList = (version: string, extra: Partial<NetworkConfigList> = {}): NetworkConfigList => ({
      cniVersion: version,
      name: `rec-${version.replaceAll(".", "")}`,
      plugins: [
        {
          type: "rec-a",
          capabilities: { portMappings: true, bandwidth: false, mac: true },
          zeta: 1,
          alpha: "<&>",
        },
        { type: "rec-b", omitVersion: true },
      ],
      ...extra,
    });
    const capabilityArgs = {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
      bandwidth: { ingressRate: 1000 },
      ips: ["10.9.0.9/24"],
    };
    const rt = (id: string): RuntimeConf => ({
      containerId: id,
      netns: "/run/netns/nowhere",
      ifName: "eth0",
      args: [
        ["IgnoreUnknown", "1"],
        ["K8S_POD_NAME", "pod"],
      ],
      capabilityArgs,
    });
    const stdin = (c: Call | undefined): Record<string, unknown> =>
      JSON.parse(c?.stdin ?? "{}") as Record<string, unknown>;

    beforeEach(() => rmSync(log(), { force: true }));

    it("ADD: stdin, environment, runtimeConfig and prevResult as libcni builds them", async () => {
      const list = recList("1.0.0");
      const result = await cni.addNetworkList(list, rt("r1"));
      const [a, b] = calls();
      expect([a?.type, b?.type]).toEqual(["rec-a", "rec-b"]);
      expect(a?.env).toEqual({
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "r1",
        CNI_NETNS: "/run/netns/nowhere",
        CNI_IFNAME: "eth0",
        CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=pod",
        CNI_PATH: `${join(dir, "bin")}:${REFERENCE_PLUGINS}`,
      });
      // Go's encoding/json: keys sorted, <>& escaped.
      expect(a?.stdin).toBe(
        '{"alpha":"\\u003c\\u0026\\u003e","capabilities":{"bandwidth":false,"mac":true,"portMappings":true},' +
          '"cniVersion":"1.0.0","name":"rec-100",' +
          '"runtimeConfig":{"portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}]},' +
          '"type":"rec-a","zeta":1}',
      );
      // rec-b declares no capability: no runtimeConfig. Its prevResult is rec-a's result as a typed 1.0.0
      // Result: the unknown key is gone.
      expect(stdin(b)).toEqual({
        type: "rec-b",
        omitVersion: true,
        name: "rec-100",
        cniVersion: "1.0.0",
        prevResult: {
          cniVersion: "1.0.0",
          interfaces: [{ name: "rec-a", sandbox: "/run/netns/nowhere" }],
          ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 0 }],
        },
      });
      // rec-b printed no cniVersion: the config's is assumed.
      expect(result).toEqual({
        cniVersion: "1.0.0",
        interfaces: [
          { name: "rec-a", sandbox: "/run/netns/nowhere" },
          { name: "rec-b", sandbox: "/run/netns/nowhere" },
        ],
        ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 0 }],
      });
      const cached = JSON.parse(readFileSync(cacheFile("rec-100", "r1"), "utf8")) as Record<string, unknown>;
      expect(cached["cniArgs"]).toEqual([
        ["IgnoreUnknown", "1"],
        ["K8S_POD_NAME", "pod"],
      ]);
      const config = await cni.getCachedConfig(list, { containerId: "r1", netns: "", ifName: "eth0" });
      expect(config?.rt.args).toEqual(rt("r1").args);
      expect(config?.rt.capabilityArgs).toEqual(capabilityArgs);

      // DEL: reverse order, the cached result as prevResult, runtimeConfig again.
      rmSync(log());
      await cni.delNetworkList(list, rt("r1"));
      const del = calls();
      expect(del.map((c) => [c.type, c.env["CNI_COMMAND"]])).toEqual([
        ["rec-b", "DEL"],
        ["rec-a", "DEL"],
      ]);
      expect(stdin(del[0])["prevResult"]).toEqual(result);
      expect(stdin(del[1])["prevResult"]).toEqual(result);
      expect(stdin(del[1])["runtimeConfig"]).toEqual({ portMappings: capabilityArgs.portMappings });
      expect(existsSync(cacheFile("rec-100", "r1"))).toBe(false);
    });

    it("DEL before 0.4.0 passes no prevResult; CHECK honours disableCheck; the cache converts versions", async () => {
      const old = recList("0.3.1");
      const result = await cni.addNetworkList(old, rt("r2"));
      expect((result["ips"] as Ip[])[0]?.version).toBe("4");
      // The same attachment seen through a 1.0.0 list: the cached 0.3.1 result converted.
      const as100 = await cni.getCachedResult({ ...old, cniVersion: "1.0.0" }, rt("r2"));
      // 0.x results always carry "dns": {} (types040.Result has no MarshalJSON to drop it); 1.x ones do not.
      expect(result["dns"]).toEqual({});
      expect(as100).toEqual({
        cniVersion: "1.0.0",
        interfaces: result["interfaces"],
        ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 0 }],
      });
      rmSync(log());
      await cni.delNetworkList(old, rt("r2"));
      expect(calls().map((c) => "prevResult" in stdin(c))).toEqual([false, false]);

      const list = recList("0.4.0", { disableCheck: true });
      await cni.addNetworkList(list, rt("r3"));
      rmSync(log());
      await cni.checkNetworkList(list, rt("r3"));
      expect(calls()).toEqual([]);
      await cni.checkNetworkList({ ...list, disableCheck: false }, rt("r3"));
      expect(
        calls().map((c) => [c.type, c.env["CNI_COMMAND"], stdin(c)["prevResult"] !== undefined]),
      ).toEqual([
        ["rec-a", "CHECK", true],
        ["rec-b", "CHECK", true],
      ]);
      await cni.delNetworkList(list, rt("r3"));
    });

    it("GC deletes stale cached attachments and, from 1.1.0, runs GC on every plugin despite errors", async () => {
      const list = recList("1.1.0");
      await cni.addNetworkList(list, rt("g1"));
      await cni.addNetworkList(list, rt("g2"));
      rmSync(log());
      const failing = { ...list, plugins: list.plugins.map((p, i) => (i === 0 ? { ...p, fail: "GC" } : p)) };
      const err = await cni.gcNetworkList(failing, [{ containerID: "g1", ifname: "eth0" }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      const gc = calls();
      expect(gc.map((c) => [c.type, c.env["CNI_COMMAND"], c.env["CNI_CONTAINERID"]])).toEqual([
        ["rec-b", "DEL", "g2"],
        ["rec-a", "DEL", "g2"],
        ["rec-a", "GC", ""],
        ["rec-b", "GC", ""],
      ]);
      const attachments = [{ containerID: "g1", ifname: "eth0" }];
      expect(stdin(gc[3])).toMatchObject({
        "cni.dev/valid-attachments": attachments,
        "cni.dev/attachments": attachments,
        name: "rec-110",
        cniVersion: "1.1.0",
      });
      expect(err).toBeInstanceOf(AggregateError);
      expect((err as Error).message).toBe("failed to GC plugin rec-a: recorder fails; rec-a");
      expect(existsSync(cacheFile("rec-110", "g1"))).toBe(true);
      expect(existsSync(cacheFile("rec-110", "g2"))).toBe(false);

      // Below 1.1.0 only the stale attachments go; disableGC does nothing at all.
      await cni.gcNetworkList({ ...list, disableGC: true }, []);
      expect(existsSync(cacheFile("rec-110", "g1"))).toBe(true);
      rmSync(log());
      await cni.gcNetworkList({ ...list, cniVersion: "1.0.0" }, []);
      expect(calls().map((c) => c.env["CNI_COMMAND"])).toEqual(["DEL", "DEL"]);
      expect(existsSync(cacheFile("rec-110", "g1"))).toBe(false);
    });

    it("STATUS from 1.1.0 on, stopping at the first error", async () => {
      await cni.getStatusNetworkList(recList("1.0.0"));
      expect(calls()).toEqual([]);
      await cni.getStatusNetworkList(recList("1.1.0"));
      expect(calls().map((c) => [c.type, c.env["CNI_COMMAND"], c.env["CNI_IFNAME"]])).toEqual([
        ["rec-a", "STATUS", ""],
        ["rec-b", "STATUS", ""],
      ]);
      expect(stdin(calls()[0])["runtimeConfig"]).toBeUndefined();
      rmSync(log());
      const list = recList("1.1.0");
      const failing = {
        ...list,
        plugins: list.plugins.map((p, i) => (i === 0 ? { ...p, fail: "STATUS" } : p)),
      };
      const err = await cni.getStatusNetworkList(failing).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CniError);
      expect(err).toMatchObject({ code: 123, msg: "recorder fails", details: "rec-a", exitCode: 1 });
      expect(calls()).toHaveLength(1);
    });
  });
});
