import { describe, expect, it } from "vitest";
import { hostAddresses, interfaceAddresses, namespaceAt } from "../../../src/dataplane/hostfacts.js";
import type { Runner } from "../../../src/dataplane/linux/exec.js";

/** `ip -j addr show dev IFNAME` inside a namespace, answered from links by "netns/ifname". */
function containers(
  links: Record<string, { local: string; prefixlen: number }[]>,
): Runner & { argv: string[][] } {
  const argv: string[][] = [];
  return {
    argv,
    run(command: readonly string[]) {
      argv.push([...command]);
      const netns = (command[1] ?? "").replace("--net=", "");
      const ifname = command.at(-1) ?? "";
      const addr_info = links[`${netns}/${ifname}`];
      if (addr_info === undefined) return Promise.reject(new Error(`Device "${ifname}" does not exist.`));
      return Promise.resolve({ stdout: JSON.stringify([{ ifname, addr_info }]), stderr: "" });
    },
  };
}

describe("interfaceAddresses", () => {
  it("answers an interface's addresses in its namespace, and undefined for one that does not exist", async () => {
    const runner = containers({
      "/run/netns/c1/eth0": [
        { local: "10.0.0.2", prefixlen: 24 },
        { local: "fd00::2", prefixlen: 64 },
      ],
      "/run/netns/c1/eth1": [],
    });
    expect(await interfaceAddresses(runner, "/run/netns/c1", "eth0")).toEqual(["10.0.0.2/24", "fd00::2/64"]);
    expect(await interfaceAddresses(runner, "/run/netns/c1", "eth1")).toEqual([]);
    expect(await interfaceAddresses(runner, "/run/netns/c1", "eth2")).toBeUndefined();
    expect(runner.argv[0]).toEqual([
      "nsenter",
      "--net=/run/netns/c1",
      "ip",
      "-j",
      "addr",
      "show",
      "dev",
      "eth0",
    ]);
  });
});

describe("namespaceAt", () => {
  it("tells a network namespace from other files, and hostnetd's own from others", () => {
    expect(namespaceAt("/proc/self/ns/net")).toBe("hostnetd's own");
    expect(namespaceAt(`/proc/${String(process.pid)}/ns/net`)).toBe("hostnetd's own");
    expect(namespaceAt("/proc/self/ns/mnt")).toBe("not-a-network-namespace");
    expect(namespaceAt("/etc/passwd")).toBe("not-a-network-namespace");
    expect(namespaceAt("/dev/null")).toBe("not-a-network-namespace");
    expect(namespaceAt("/etc")).toBe("not-a-network-namespace");
    expect(namespaceAt("/nonexistent/hostnet/ns")).toBe("missing");
  });
});

describe("hostAddresses", () => {
  it("answers every address of the namespace and every default gateway, multipath ones too", async () => {
    const answers: Record<string, unknown> = {
      "ip -j addr show": [
        { ifname: "lo", addr_info: [{ local: "127.0.0.1", prefixlen: 8 }] },
        { ifname: "eth0", addr_info: [{ local: "192.168.1.10", prefixlen: 24 }] },
      ],
      "ip -j -4 route show default table all": [
        { dst: "default", gateway: "192.168.1.1", dev: "eth0" },
        { dst: "default", nexthops: [{ gateway: "192.168.2.1", dev: "eth1" }] },
      ],
      "ip -j -6 route show default table all": [{ dst: "default", gateway: "fe80::1", dev: "eth0" }],
    };
    const runner: Runner = {
      run: (argv) => Promise.resolve({ stdout: JSON.stringify(answers[argv.join(" ")]), stderr: "" }),
    };
    expect(await hostAddresses(runner)).toEqual([
      { address: "127.0.0.1", what: "an address of lo" },
      { address: "192.168.1.10", what: "an address of eth0" },
      { address: "192.168.1.1", what: "the default gateway (via eth0)" },
      { address: "192.168.2.1", what: "the default gateway (via eth1)" },
      { address: "fe80::1", what: "the default gateway (via eth0)" },
    ]);
  });
});
