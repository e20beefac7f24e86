import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { forgetBackend } from "../../../src/dataplane/linux/backend-memory.js";
import type { Runner } from "../../../src/dataplane/linux/exec.js";

/** A runner that records each command and its input; nft lists one affinity per VIP given. */
function recording(affinities: readonly [client: string, vip: string, backend: string][] = []) {
  const calls: { argv: string[]; input: string | undefined }[] = [];
  const elem = affinities.map(([client, vip, backend]) => [
    { elem: { val: { concat: [client, vip, 80] } } },
    { concat: [backend, 8080] },
  ]);
  const runner: Runner = {
    run(argv, input) {
      // conntrack reads its batch from a file, gone once it has run.
      calls.push({
        argv: [...argv],
        input: argv[0] === "conntrack" ? readFileSync(argv[2] ?? "", "utf8") : input,
      });
      const stdout =
        argv[0] === "nft" && argv[1] === "-j" ? JSON.stringify({ nftables: [{ map: { elem } }] }) : "";
      return Promise.resolve({ stdout, stderr: "" });
    },
  };
  return { runner, calls };
}

describe("forgetBackend", () => {
  it("forgets every VIP of a load balancer with one conntrack process, whatever their number", async () => {
    const { runner, calls } = recording();
    const vips = Array.from({ length: 16 }, (_, i) => ({ vip: `198.51.100.${i + 1}` }));
    await forgetBackend(runner)([...vips, { vip: "2001:db8::1" }]);
    const conntrack = calls.filter((c) => c.argv[0] === "conntrack");
    expect(conntrack).toHaveLength(1);
    expect(conntrack[0]?.argv.slice(0, 2)).toEqual(["conntrack", "-R"]);
    expect(existsSync(conntrack[0]?.argv[2] ?? "")).toBe(false);
    const lines = (conntrack[0]?.input ?? "").trim().split("\n");
    expect(lines).toHaveLength(17);
    expect(lines[0]).toBe("-D -f ipv4 -p udp --orig-dst 198.51.100.1");
    expect(lines[16]).toBe("-D -f ipv6 -p udp --orig-dst 2001:db8::1");
    expect(calls.filter((c) => c.argv[0] === "nft")).toHaveLength(1);
  });

  it("forgets one backend's flows and affinities, and only its own", async () => {
    const { runner, calls } = recording([
      ["192.0.2.7", "198.51.100.1", "10.1.0.5"],
      ["192.0.2.8", "198.51.100.1", "10.1.0.6"],
      ["192.0.2.9", "198.51.100.2", "10.1.0.5"],
    ]);
    await forgetBackend(runner)([
      { vip: "198.51.100.1", backend: "10.1.0.5" },
      { vip: "198.51.100.2", backend: "10.1.0.5" },
    ]);
    expect(calls[0]?.input).toBe(
      "-D -f ipv4 -p udp --orig-dst 198.51.100.1 --reply-src 10.1.0.5\n" +
        "-D -f ipv4 -p udp --orig-dst 198.51.100.2 --reply-src 10.1.0.5\n",
    );
    expect(calls.at(-1)?.input).toBe(
      "delete element inet hostnet lbAffinity4 { 192.0.2.7 . 198.51.100.1 . 80 }\n" +
        "delete element inet hostnet lbAffinity4 { 192.0.2.9 . 198.51.100.2 . 80 }\n",
    );
  });

  it("forgets a NodePort's UDP flows by its port and the NodePort mark, on any address, and no affinity", async () => {
    const { runner, calls } = recording([["192.0.2.7", "198.51.100.1", "10.1.0.5"]]);
    await forgetBackend(runner)([
      { nodePort: 30053, family: 4 },
      { nodePort: 30053, family: 6, backend: "fd00::5" },
    ]);
    expect(calls.map((c) => c.input)).toEqual([
      "-D -f ipv4 -p udp --orig-port-dst 30053 --mark 0x00100000/0x00100000\n" +
        "-D -f ipv6 -p udp --orig-port-dst 30053 --mark 0x00100000/0x00100000 --reply-src fd00::5\n",
    ]);
  });

  it("runs nothing when there is nothing to forget", async () => {
    const { runner, calls } = recording();
    await forgetBackend(runner)([]);
    expect(calls).toEqual([]);
  });
});
