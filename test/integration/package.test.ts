/**
 * The package as a user gets it: `npm pack`, `npm install -g` into an empty prefix, and the installed hostnetd,
 * hostnet and CNI plugin run end to end with this checkout out of sight (a tmpfs over it in a private mount
 * namespace), so nothing they need may come from the checkout.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { must, run, type RunResult } from "../helpers/run.js";

const root = resolve(import.meta.dirname, "../..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };

/**
 * argv run with the checkout hidden. Slave propagation keeps the tmpfs in this mount namespace while the
 * network namespaces the test adds under /run/netns still reach it.
 */
const hidden = (argv: readonly string[]): string[] => [
  ...["unshare", "--mount", "--propagation", "slave", "sh", "-c"],
  'mount -t tmpfs -o size=4k hidden "$0" && cd / && exec "$@"',
  root,
  ...argv,
];

describe.skipIf(needsRoot)("the npm package, installed into an empty prefix", () => {
  let work = "";
  const prefix = (): string => join(work, "prefix");
  const installed = (command: string): string => join(prefix(), "bin", command);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "hostnet-package-"));
    lab.cleanup.add(() => {
      rmSync(work, { recursive: true, force: true });
      return Promise.resolve();
    });
    // The suite has built dist/ already (npm test, test:integration): prepack's own build would repeat it.
    await must(["sh", join(root, "scripts/pack-native.sh")]);
    const packed = JSON.parse(
      await must(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", work, root], {
        timeoutMs: 180_000,
      }),
    ) as { filename: string }[];
    const tarball = join(work, packed[0]?.filename ?? "");
    // From npm's cache where it can: `npm ci` cached the dependencies' tarballs, not always their metadata.
    await must(
      [
        ...[
          "npm",
          "install",
          "--global",
          "--prefix",
          prefix(),
          "--prefer-offline",
          "--allow-scripts=hostnet",
        ],
        ...["--no-audit", "--no-fund", tarball],
      ],
      { timeoutMs: 540_000 },
    );
  }, 600_000);

  let sandbox = "";
  const lab = useLab({
    daemonArgs: ["--no-default-network"],
    // Made before hostnetd starts, as a runtime makes a container's: it is then in hostnetd's mount namespace.
    async prepare(t) {
      sandbox = t.ns("ctr");
      await must(["ip", "netns", "add", sandbox]);
    },
    get hostnetd() {
      return hidden([installed("hostnetd")]);
    },
  });
  const hostnet = (...args: string[]): Promise<RunResult> =>
    run(hidden([installed("hostnet"), "--socket", lab.d.socket, ...args]));

  it("installs hostnetd and hostnet, which print the version and the commit without the checkout", async () => {
    expect((await run(hidden(["test", "-e", join(root, "package.json")]))).code).toBe(1);
    for (const command of ["hostnetd", "hostnet"])
      expect(await run(hidden([installed(command), "--version"]))).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(
          new RegExp(`^${command} ${version.replaceAll(".", "\\.")} \\(commit [0-9a-z-]+\\)\\n$`),
        ) as string,
      });
  });

  it("ships a systemd unit that systemd-analyze verify accepts, finding the installed hostnetd", async () => {
    // systemd finds ExecStart's bare hostnetd in /usr/local/bin: the prefix npm install -g uses by default.
    const verify = await run([
      ...["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /usr/local && exec "$@"'],
      prefix(),
      ...["systemd-analyze", "verify", "/usr/local/lib/node_modules/hostnet/systemd/hostnetd.service"],
    ]);
    expect(verify).toMatchObject({ code: 0, stderr: "" });
  });

  it("creates a network and an endpoint with the installed hostnet", async () => {
    expect((await hostnet("network", "create", "web", "--subnet", "10.62.0.0/24")).code).toBe(0);
    expect((await hostnet("namespace", "create", lab.t.ns("w1"))).code).toBe(0);
    const created = await hostnet(
      ...["endpoint", "create", "w1", "--network", "web", "--namespace", lab.t.ns("w1")],
      ...["--ip", "10.62.0.10"],
    );
    expect(created).toMatchObject({ code: 0, stderr: "" });
    const endpoint = JSON.parse((await hostnet("endpoint", "inspect", "w1")).stdout) as {
      HostInterfaceName: string;
    };
    const link = JSON.parse(
      await must(["ip", "-n", lab.t.host, "-j", "link", "show", "dev", endpoint.HostInterfaceName]),
    ) as { operstate: string }[];
    expect(link).toHaveLength(1);
    expect((await hostnet("plan")).stdout).toMatch(/nothing to change/);
    const info = JSON.parse((await hostnet("--json", "info")).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      Version: version,
      Networks: { NAT: 1 },
      Endpoints: { NAT: 1 },
      Etcd: { State: "off" },
      Socket: lab.d.socket,
      Store: join(lab.d.stateDir, "hostnet.db"),
    });
    expect(Object.keys((info["Kernel"] as { Features: object }).Features)).toContain("vlan");
  });

  it("installs the packaged CNI plugin, which runs ADD and DEL against the installed hostnetd", async () => {
    const cniDir = join(work, "cni");
    expect(
      (
        await hostnet(
          ...["install-cni", "--bin-dir", join(cniDir, "bin"), "--conf-dir", join(cniDir, "conf")],
        )
      ).code,
    ).toBe(0);
    const config = JSON.stringify({
      cniVersion: "1.0.0",
      name: "package",
      type: "hostnet",
      network: "cni",
      socket: lab.d.socket,
      ipam: { subnet: "10.63.0.0/24" },
    });
    const plugin = (command: string): Promise<RunResult> =>
      run(
        hidden([
          "env",
          `CNI_COMMAND=${command}`,
          "CNI_CONTAINERID=ctr-package",
          `CNI_NETNS=/run/netns/${sandbox}`,
          "CNI_IFNAME=eth0",
          `CNI_PATH=${join(cniDir, "bin")}`,
          join(cniDir, "bin", "hostnet"),
        ]),
        { input: config },
      );
    const add = await plugin("ADD");
    expect(add).toMatchObject({ code: 0, stderr: "" });
    const address = (JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0]?.address ?? "";
    expect(address).toMatch(/^10\.63\.0\.\d+\/24$/);
    const inside = await must(["ip", "-n", sandbox, "-o", "addr", "show", "dev", "eth0"]);
    expect(inside).toContain(address);

    expect(await plugin("DEL")).toMatchObject({ code: 0, stderr: "" });
    expect((await hostnet("--json", "endpoint", "ls")).stdout).not.toContain("ctr-package");
    expect((await hostnet("network", "rm", "web", "--force")).code).toBe(0);
    expect((await hostnet("namespace", "rm", lab.t.ns("w1"))).code).toBe(0);
    expect((await hostnet("plan")).stdout).toMatch(/nothing to change/);
  });
});
