import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CniHandler } from "../../../../src/api/cni/handler.js";
import { kernelError } from "../../../helpers/memory-kernel.js";
import { harness, type Harness } from "../../harness.js";
import { lbSpec } from "../../core/requests.js";

let h: Harness;
let cni: CniHandler;
let dir: string;

/** Files a test hands in as CNI_NETNS that are no network namespace, or hostnetd's own. */
const notNamespaces = {
  "/etc/passwd": "not-a-network-namespace",
  "/proc/self/ns/net": "hostnetd's own",
} as const;

beforeEach(() => {
  h = harness({ namespaces: notNamespaces });
  cni = new CniHandler(h.service);
  dir = mkdtempSync(join(tmpdir(), "hostnet-cni-unit-"));
});
afterEach(() => {
  h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A netns path that exists (adopting a namespace checks that it does). */
function netns(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "");
  return path;
}

const conf = (version: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    cniVersion: version,
    name: "k8s",
    type: "hostnet",
    network: "pods",
    ipam: { subnet: "10.44.0.0/24" },
    ...extra,
  });

const env = (command: string, id = "c1", path = "", ifname = "eth0", args = ""): Record<string, string> => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: id,
  CNI_NETNS: path,
  CNI_IFNAME: ifname,
  CNI_ARGS: args,
  CNI_PATH: "/opt/cni/bin",
});

/** Podman's alias for its container: the short id. */
const id12 = (id: string): string => id.padEnd(12, "0").slice(0, 12);

async function call(
  e: Record<string, string>,
  stdin: string,
): Promise<{ exitCode: number; out: Record<string, unknown> }> {
  const { exitCode, stdout } = await cni.handle(e, stdin);
  return { exitCode, out: stdout === "" ? {} : (JSON.parse(stdout) as Record<string, unknown>) };
}

describe("the CNI plugin's logic", () => {
  it("answers VERSION with every supported version, without a configuration", async () => {
    expect(await call({ CNI_COMMAND: "VERSION" }, '{"cniVersion":"0.4.0"}')).toEqual({
      exitCode: 0,
      out: { cniVersion: "0.4.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] },
    });
  });

  it("refuses a bad environment (4), undecodable input (6), an unknown version (1) and a bad config (7), naming what", async () => {
    const path = netns("n0");
    const cases: [Record<string, string>, string, number, string][] = [
      [{ CNI_COMMAND: "FROB" }, conf("1.0.0"), 4, "CNI_COMMAND"],
      [{ ...env("ADD", "c1", path), CNI_IFNAME: "" }, conf("1.0.0"), 4, "CNI_IFNAME"],
      [env("ADD", "c1", path), "{not json", 6, "not JSON"],
      [env("ADD", "c1", path), conf("0.2.0"), 1, "0.2.0"],
      [env("ADD", "c1", path), conf("1.0.0", { name: 7 }), 7, "name"],
      [env("ADD", "c1", path), conf("1.0.0", { ipam: { subnet: "10.0.0.0/33" } }), 7, "ipam.subnet"],
      [
        env("ADD", "c1", path),
        conf("1.0.0", { runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } }),
        7,
        "runtimeConfig.portMappings[0].hostPort",
      ],
      [
        env("ADD", "c1", "/etc/passwd"),
        conf("1.0.0"),
        4,
        "CNI_NETNS: /etc/passwd is not a network namespace",
      ],
      [
        env("ADD", "c1", "/proc/self/ns/net"),
        conf("1.0.0"),
        4,
        "CNI_NETNS: /proc/self/ns/net is hostnetd's own",
      ],
      [env("ADD", "c1", join(dir, "gone")), conf("1.0.0"), 4, "does not exist"],
      [env("ADD", "c1", path, "a".repeat(16)), conf("1.0.0"), 4, "CNI_IFNAME: "],
      [env("ADD", "c1", path, "eth/0"), conf("1.0.0"), 4, "CNI_IFNAME: "],
      [env("ADD", "c1", path), conf("1.0.0", { prevResult: [] }), 7, "prevResult: must be an object"],
      [env("ADD", "c1", path), conf("1.0.0", { prevResult: { ips: [{}] } }), 7, "prevResult.ips[0]"],
      [
        env("ADD", "c1", path),
        conf("1.0.0", { prevResult: { ips: [{ address: "10.1.0.300/24" }] } }),
        7,
        "prevResult.ips[0].address",
      ],
      [
        env("ADD", "c1", path),
        conf("1.0.0", {
          prevResult: { interfaces: [{ name: "eth0" }], ips: [{ address: "10.1.0.3/24", interface: 1 }] },
        }),
        7,
        "prevResult.ips[0].interface",
      ],
      [
        env("ADD", "c1", path),
        conf("1.0.0", { prevResult: { routes: [{ dst: "default" }] } }),
        7,
        "prevResult.routes[0].dst",
      ],
      [
        env("ADD", "c1", path),
        conf("1.0.0", { prevResult: { interfaces: "eth0" } }),
        7,
        "prevResult.interfaces",
      ],
    ];
    for (const [e, stdin, code, named] of cases) {
      const { exitCode, out } = await call(e, stdin);
      expect({ exitCode, code: out["code"] }, String(out["msg"])).toEqual({ exitCode: 1, code });
      expect(String(out["msg"])).toContain(named);
    }
    expect(h.service.endpoints()).toEqual([]);
    expect(h.service.namespaces()).toEqual([]);
  });

  it("ADD creates the network on first use and answers in the requested version's format", async () => {
    for (const [i, version] of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"].entries()) {
      const path = netns(`v${i}`);
      const { exitCode, out } = await call(env("ADD", `c${i}`, path), conf(version));
      expect(exitCode, JSON.stringify(out)).toBe(0);
      expect(out["cniVersion"]).toBe(version);
      const ips = out["ips"] as Record<string, unknown>[];
      expect(ips).toHaveLength(1);
      expect(ips[0]).toMatchObject({ gateway: "10.44.0.1", interface: 1 });
      expect("version" in (ips[0] ?? {})).toBe(version.startsWith("0."));
      expect(out["interfaces"]).toMatchObject([{ sandbox: "" }, { name: "eth0", sandbox: path }]);
      expect(out["routes"]).toEqual([{ dst: "0.0.0.0/0", gw: "10.44.0.1" }]);
    }
    expect(h.service.network("pods").subnets.map((s) => s.prefix)).toEqual(["10.44.0.0/24"]);
    expect(h.service.endpoints().map((e) => e.name)).toEqual([
      "cni-c0",
      "cni-c1",
      "cni-c2",
      "cni-c3",
      "cni-c4",
    ]);
    // Container ids sharing their first 12 characters: the second gets its whole id.
    for (const id of ["abcdefabcdef-1", "abcdefabcdef-2"])
      expect((await call(env("ADD", id, netns(id)), conf("1.0.0"))).exitCode).toBe(0);
    expect(h.service.findEndpoint("cni-abcdefabcdef")).toBeDefined();
    expect(h.service.findEndpoint("cni-abcdefabcdef-2")).toBeDefined();
  });

  it("maps the capabilities, names Kubernetes pods, and appends to a chain's prevResult", async () => {
    const path = netns("p1");
    const prevResult = {
      cniVersion: "0.4.0",
      interfaces: [{ name: "lo0", sandbox: path }],
      ips: [{ version: "4", address: "192.0.2.9/32", interface: 0 }],
      routes: [],
      dns: {},
    };
    const stdin = conf("0.4.0", {
      prevResult,
      runtimeConfig: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        bandwidth: { ingressRate: 800000, egressRate: 1600000 },
        ips: ["10.44.0.77/24"],
        mac: "02:aa:bb:cc:dd:ee",
        dns: { servers: ["10.44.0.1"], searches: ["svc.local"] },
      },
    });
    const { exitCode, out } = await call(
      env("ADD", "c1", path, "eth0", "K8S_POD_NAMESPACE=web;K8S_POD_NAME=api-1"),
      stdin,
    );
    expect(exitCode, JSON.stringify(out)).toBe(0);
    expect(out["ips"]).toEqual([
      { version: "4", address: "192.0.2.9/32", interface: 0 },
      { version: "4", address: "10.44.0.77/24", gateway: "10.44.0.1", interface: 2 },
    ]);
    expect(out["dns"]).toEqual({ nameservers: ["10.44.0.1"], search: ["svc.local"] });
    const ep = h.service.endpoint("web.api-1");
    expect(ep.mac).toBe("02:aa:bb:cc:dd:ee");
    expect(ep.portMappings).toEqual([{ protocol: "tcp", hostIp: null, hostPort: 8080, internalPort: 80 }]);
    expect(ep.policies).toEqual([
      { type: "QOS", maxIncomingBytesPerSecond: 100000, maxOutgoingBytesPerSecond: 200000 },
    ]);
  });

  it("gives the resolver the aliases capability's names and the container's name Podman passes as K8S_POD_NAME", async () => {
    const podman = (id: string, name: string, aliases: string[]) =>
      call(
        env("ADD", id, netns(id), "eth0", `IgnoreUnknown=1;K8S_POD_NAME=${name}`),
        conf("1.0.0", { runtimeConfig: { aliases: { k8s: aliases } } }),
      );
    expect((await podman("c1", "DB", ["database", id12("c1")])).exitCode).toBe(0);
    expect(h.service.endpoint("cni-c1").aliases).toEqual(["database", id12("c1"), "db"]);
    // A name that is no domain name is no alias, and does not stop the container.
    expect((await podman("c2", "web-", [])).exitCode).toBe(0);
    expect(h.service.endpoint("cni-c2").aliases).toEqual([]);
    const clash = await podman("c3", "database", []);
    expect(clash.exitCode).toBe(1);
    expect(String(clash.out["msg"])).toContain("CNI_ARGS.K8S_POD_NAME[0]");
  });

  it("refuses an ADD whose ifname exists or whose port is taken, leaving nothing behind", async () => {
    const a = netns("a");
    const b = netns("b");
    const mapping = { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } };
    expect((await call(env("ADD", "c2", b), conf("1.0.0", mapping))).exitCode).toBe(0);
    h.interfaces.addresses.set(`${a}/eth0`, []);
    h.kernel.failNext(2, kernelError("RTNETLINK answers: File exists"));
    const exists = await call(env("ADD", "c1", a), conf("1.0.0"));
    expect([exists.exitCode, exists.out["code"]]).toEqual([1, 100]);
    expect(String(exists.out["msg"])).toContain("CNI_IFNAME");
    const c = netns("c");
    const taken = await call(env("ADD", "c3", c), conf("1.0.0", mapping));
    expect([taken.exitCode, taken.out["code"]]).toEqual([1, 100]);
    expect(String(taken.out["msg"])).toContain("runtimeConfig.portMappings[0]");
    expect(h.service.endpoints().map((e) => e.name)).toEqual(["cni-c2"]);
    expect(h.service.namespaces().map((n) => n.path)).toEqual([b]);
  });

  it("refuses a host port a NodePort load balancer has (portmap), leaving nothing behind", async () => {
    await h.service.loadBalancers.create(lbSpec("np", [], []));
    const mapping = { runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080 }] } };
    const taken = await call(env("ADD", "c1", netns("a")), conf("1.0.0", mapping));
    expect([taken.exitCode, taken.out["code"]]).toEqual([1, 100]);
    expect(String(taken.out["msg"])).toMatch(
      /^runtimeConfig\.portMappings\[0\]: .*NodePort of load balancer "np"/,
    );
    expect(h.service.endpoints()).toEqual([]);
    expect(h.service.namespaces()).toEqual([]);
  });

  it("names what hostnetd refuses as CNI does: the environment variable or the configuration key", async () => {
    const cases: [Record<string, string>, string, string][] = [
      [
        env("ADD", "c2", netns("m")),
        conf("1.0.0", { runtimeConfig: { mac: "01:00:5e:00:00:01" } }),
        "runtimeConfig.mac: ",
      ],
      [env("ADD", "c3", netns("t")), conf("1.0.0", { network: "other", mode: "bogus" }), "mode: "],
      [env("ADD", "c4", netns("n")), conf("1.0.0", { network: "my pods" }), "network: "],
      // A VLAN of 1 to 4094, on a network on an uplink's LAN only (pods is NAT).
      [env("ADD", "c5", netns("v")), conf("1.0.0", { vlan: 4095 }), "vlan: "],
      [env("ADD", "c6", netns("w")), conf("1.0.0", { vlan: 10 }), "vlan: NAT networks have no VLANs"],
    ];
    for (const [e, stdin, named] of cases) {
      const { exitCode, out } = await call(e, stdin);
      expect({ exitCode, code: out["code"] }).toEqual({ exitCode: 1, code: 7 });
      const msg = String(out["msg"]);
      expect(msg.startsWith(named), msg).toBe(true);
    }
  });

  it("DEL removes the endpoint and the adopted namespace, and succeeds again and for the unknown", async () => {
    const path = netns("d");
    expect((await call(env("ADD", "c1", path), conf("1.0.0"))).exitCode).toBe(0);
    for (let i = 0; i < 2; i++)
      expect(await call(env("DEL", "c1", path), conf("1.0.0"))).toEqual({ exitCode: 0, out: {} });
    expect(await call(env("DEL", "never", ""), conf("1.0.0"))).toEqual({ exitCode: 0, out: {} });
    expect(h.service.endpoints()).toEqual([]);
    expect(h.service.namespaces()).toEqual([]);
  });

  it("CHECK passes while the interface has its addresses, and says what is missing", async () => {
    const path = netns("k");
    const { out } = await call(env("ADD", "c1", path), conf("1.0.0"));
    const address = String((out["ips"] as { address: string }[])[0]?.address);
    h.interfaces.addresses.set(`${path}/eth0`, [address, "10.99.0.1/32"]);
    expect(await call(env("CHECK", "c1", path), conf("1.0.0", { prevResult: out }))).toEqual({
      exitCode: 0,
      out: {},
    });
    h.interfaces.addresses.set(`${path}/eth0`, []);
    const drift = await call(env("CHECK", "c1", path), conf("1.0.0", { prevResult: out }));
    expect([drift.exitCode, drift.out["code"]]).toEqual([1, 102]);
    const unknown = await call(env("CHECK", "c9", path), conf("1.0.0"));
    expect([unknown.exitCode, unknown.out["code"]]).toEqual([1, 3]);
  });

  it("GC removes the network's attachments the runtime no longer lists, and only those", async () => {
    for (const id of ["c1", "c2", "c3"])
      expect((await call(env("ADD", id, netns(id)), conf("1.1.0"))).exitCode).toBe(0);
    const other = JSON.stringify({
      cniVersion: "1.1.0",
      name: "other",
      type: "hostnet",
      ipam: { subnet: "10.45.0.0/24" },
    });
    expect((await call(env("ADD", "x1", netns("x1")), other)).exitCode).toBe(0);
    const valid = { "cni.dev/valid-attachments": [{ containerID: "c2", ifname: "eth0" }] };
    expect(await call({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }, conf("1.1.0", valid))).toEqual({
      exitCode: 0,
      out: {},
    });
    expect(
      h.service
        .endpoints()
        .map((e) => e.name)
        .sort(),
    ).toEqual(["cni-c2", "cni-x1"]);
  });

  it("parallel ADDs of different containers get different addresses and endpoints", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(env("ADD", `p${i}`, netns(`p${i}`)), conf("1.0.0"))),
    );
    expect(results.map((r) => r.exitCode)).toEqual(Array.from({ length: 20 }, () => 0));
    const addresses = results.map((r) => (r.out["ips"] as { address: string }[])[0]?.address);
    expect(new Set(addresses).size).toBe(20);
    expect(h.service.networks()).toHaveLength(1);
  });
});
