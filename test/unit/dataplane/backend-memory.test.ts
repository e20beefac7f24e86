import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { forgetBackend } from "../../../src/dataplane/linux/backend-memory.js";
import type { Runner } from "../../../src/dataplane/linux/exec.js";

/** A runner that records each command and its input. */
function recording() {
  const calls: { argv: string[]; input: string | undefined }[] = [];
  const runner: Runner = {
    run(argv, input) {
      // conntrack reads its batch from a file, gone once it has run.
      calls.push({
        argv: [...argv],
        input: argv[0] === "conntrack" ? readFileSync(argv[2] ?? "", "utf8") : input,
      });
      return Promise.resolve({ stdout: "", stderr: "" });
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
    expect(calls.filter((c) => c.argv[0] !== "conntrack")).toEqual([]);
  });

  it("forgets one backend's flows, and only its own", async () => {
    const { runner, calls } = recording();
    await forgetBackend(runner)([
      { vip: "198.51.100.1", backend: "10.1.0.5" },
      { vip: "198.51.100.2", backend: "10.1.0.5" },
    ]);
    expect(calls[0]?.input).toBe(
      "-D -f ipv4 -p udp --orig-dst 198.51.100.1 --reply-src 10.1.0.5\n" +
        "-D -f ipv4 -p udp --orig-dst 198.51.100.2 --reply-src 10.1.0.5\n",
    );
    expect(calls).toHaveLength(1);
  });

  it("forgets a NodePort's UDP flows by its port and the NodePort mark, on any address", async () => {
    const { runner, calls } = recording();
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
