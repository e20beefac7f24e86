import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { runHostnetd } from "../helpers/daemon.js";
import { linkNames, nftElements } from "../helpers/kernel-state.js";
import { must } from "../helpers/run.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

describe.skipIf(needsRoot)("a second hostnetd is refused before it touches the kernel", () => {
  const lab = useLab();
  let scratch = "";

  beforeAll(async () => {
    const { t } = lab;
    scratch = mkdtempSync(join(tmpdir(), "hostnet-second-"));
    lab.cleanup.add(() => rm(scratch, { recursive: true, force: true }));
    await lab.network("n1", ["10.57.0.0/24"]);
    await lab.container("c1", "n1", {
      Policies: [
        { Type: "PortMapping", Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: 8081 } },
      ],
    });
    lab.cleanup.track(await startEchoServers(t.ns("c1"), 80));
    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
  });

  it("exits 1 naming the first, every wrong way, and the first keeps its kernel objects and its port", async () => {
    const { t, d } = lab;
    const elsewhere = t.ns("elsewhere");
    await must(["ip", "netns", "add", elsewhere]);
    const links = await linkNames(t.host);
    const elements = await nftElements(t.host);
    const other = (name: string): string => join(scratch, name);
    const noPlugin = "--no-docker-plugin";

    const attempts: [string, string, readonly string[], RegExp][] = [
      [
        "same socket, another state directory",
        t.host,
        ["--socket", d.socket, "--state-dir", other("state-a"), noPlugin],
        /another hostnetd \(pid \d+, socket .*hostnet\.sock, state directory .*\) runs in this network namespace \(net:\[\d+\]\)/,
      ],
      [
        "same state directory, another socket",
        t.host,
        ["--socket", other("b.sock"), "--state-dir", d.stateDir, noPlugin],
        /another hostnetd \(pid \d+.*\) runs in this network namespace/,
      ],
      [
        "another socket and state directory",
        t.host,
        ["--socket", other("c.sock"), "--state-dir", other("state-c"), noPlugin],
        /one hostnetd per network namespace/,
      ],
      [
        "same state directory from another namespace",
        elsewhere,
        ["--socket", other("d.sock"), "--state-dir", d.stateDir, noPlugin],
        /another hostnetd uses the state directory .*: one hostnetd per state directory/,
      ],
      [
        "same socket from another namespace",
        elsewhere,
        ["--socket", d.socket, "--state-dir", other("state-e"), noPlugin],
        /another hostnetd is serving .*hostnet\.sock/,
      ],
    ];
    for (const [how, ns, args, says] of attempts) {
      const second = await runHostnetd(ns, args);
      expect({ how, code: second.code }).toEqual({ how, code: 1 });
      expect(second.stderr, how).toMatch(says);
    }

    expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
    expect(await linkNames(t.host)).toEqual(links);
    expect(await nftElements(t.host)).toEqual(elements);
    expect(await linkNames(elsewhere)).toEqual(["lo"]);
    expect(await lab.plan()).toEqual([]);
  });
});
