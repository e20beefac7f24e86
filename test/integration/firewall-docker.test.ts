/**
 * hostnet beside Docker's iptables rules when dockerd starts first: dockerd enables forwarding itself and so
 * sets the FORWARD policy to DROP, and hostnetd, started after it, lets its own forwarding through with one
 * labelled jump in Docker's DOCKER-USER chain; the jump survives dockerd restarts, goes with hostnet's last
 * network, and comes back after someone flushes the chain. (docker.test.ts starts hostnetd first.)
 */
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  dockerSkipReason,
  runWebServer,
  startDockerEngine,
  type DockerEngine,
} from "../helpers/docker-engine.js";
import { iptables, iptablesRules } from "../helpers/iptables.js";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";
import { startHostServer } from "../helpers/traffic.js";

const skipReason = needsRoot ? undefined : dockerSkipReason();
const HOST_PORT = 30082;
const EXT_PORT = 7002;
/** Docker programs the iptables its `iptables` command is: iptables-nft on Debian since bookworm. */
const BACKEND = "nft";
/** A rule of the admin's in each chain, which hostnet must leave where it is. */
const FOREIGN = ["-p", "tcp", "--dport", "9", "-j", "DROP"];
const JUMP = "-A DOCKER-USER -m comment --comment hostnet -j HOSTNET-FORWARD";

describe.skipIf(needsRoot || skipReason !== undefined)(
  "dockerd started before hostnetd, and restarted",
  () => {
    let engine: DockerEngine | undefined;
    const dockerEngine = (): DockerEngine => {
      if (engine === undefined) throw new Error("dockerd did not start");
      return engine;
    };
    // Docker looks for plugins in a directory that exists when it starts: the test makes it for hostnetd.
    const pluginDir = mkdtempSync(join(tmpdir(), "hostnet-plugins-"));
    const lab = useLab({
      prepare: async (t) => {
        lab.cleanup.add(async () => {
          await rm(pluginDir, { recursive: true, force: true });
        });
        engine = await startDockerEngine({ netns: t.host, pluginDir, prefix: t.prefix });
        lab.cleanup.add(() => dockerEngine().stop());
        await iptables(t.host, BACKEND, "-I", "DOCKER-USER", ...FOREIGN);
        await iptables(t.host, BACKEND, "-A", "FORWARD", ...FOREIGN);
        lab.cleanup.track(await startHostServer(t.ext, t.extIp4, EXT_PORT));
      },
      daemon: () => ({ pluginDir }),
    });

    const docker = (...args: string[]): Promise<string> => dockerEngine().mustDocker(args, 60_000);
    const address = async (container: string): Promise<string> =>
      (
        await docker("inspect", "-f", '{{(index .NetworkSettings.Networks "hn").IPAddress}}', container)
      ).trim();
    /** hostnet's forwarding: container to container, to the outside, and a published port from outside. */
    const flows = async (): Promise<boolean[]> => {
      const c1 = await address("c1");
      const page = await run(
        inNs(lab.t.ext, ["socat", "-T", "3", "-", `TCP4:${lab.t.hostIp4}:${HOST_PORT},connect-timeout=3`]),
        { input: "GET / HTTP/1.0\r\n\r\n", timeoutMs: 10_000 },
      );
      const out = await dockerEngine().docker([
        "exec",
        "c2",
        "nc",
        "-w",
        "3",
        lab.t.extIp4,
        String(EXT_PORT),
      ]);
      return [
        (await dockerEngine().docker(["exec", "c2", "ping", "-c", "1", "-W", "2", c1])).code === 0,
        out.stdout.trim() === lab.t.hostIp4,
        page.stdout.includes("c1"),
      ];
    };
    const dockerUser = (): Promise<string[]> => iptablesRules(lab.t.host, BACKEND, "DOCKER-USER");

    it("finds FORWARD's policy DROP, as Docker set it, and lets hostnet's traffic through DOCKER-USER", async () => {
      expect(await iptablesRules(lab.t.host, BACKEND, "FORWARD")).toContain("-P FORWARD DROP");
      await docker("network", "create", "--driver", "hostnet", "--subnet", "10.66.0.0/24", "hn");
      await runWebServer(dockerEngine(), "c1", "--network", "hn", "--publish", `${HOST_PORT}:80`);
      await docker(
        "run",
        "--detach",
        "--name",
        "c2",
        "--network",
        "hn",
        dockerEngine().image,
        "sleep",
        "3600",
      );
      expect(await flows()).toEqual([true, true, true]);
      expect(await dockerUser()).toEqual([
        "-N DOCKER-USER",
        JUMP,
        "-A DOCKER-USER -p tcp -m tcp --dport 9 -j DROP",
        "-A DOCKER-USER -j RETURN",
      ]);
      const forward = await iptablesRules(lab.t.host, BACKEND, "FORWARD");
      expect(forward.filter((r) => r.includes("HOSTNET"))).toEqual([]);
      expect(forward.at(-1)).toBe("-A FORWARD -p tcp -m tcp --dport 9 -j DROP");
      expect(await lab.plan()).toEqual([]);
    });

    it("keeps the exception, and hostnet's traffic flowing, when dockerd restarts", async () => {
      await dockerEngine().restart();
      await docker("start", "c1", "c2");
      expect(await dockerUser()).toContain(JUMP);
      expect(await flows()).toEqual([true, true, true]);
      expect(await lab.plan()).toEqual([]);
    });

    it("removes the jump and hostnet's chain with hostnet's last network, and leaves Docker's chains", async () => {
      await docker("rm", "--force", "c1", "c2");
      await docker("network", "rm", "hn");
      expect(await dockerUser()).toEqual([
        "-N DOCKER-USER",
        "-A DOCKER-USER -p tcp -m tcp --dport 9 -j DROP",
        "-A DOCKER-USER -j RETURN",
      ]);
      expect((await iptablesRules(lab.t.host, BACKEND)).filter((r) => r.includes("HOSTNET"))).toEqual([]);
      expect(await lab.plan()).toEqual([]);
    });

    it("makes its jump again at the next converge of a network after `iptables -F DOCKER-USER`", async () => {
      await docker("network", "create", "--driver", "hostnet", "--subnet", "10.66.0.0/24", "hn");
      expect(await dockerUser()).toContain(JUMP);
      await iptables(lab.t.host, BACKEND, "-F", "DOCKER-USER");
      expect(await lab.plan()).toEqual([
        {
          Action: "create",
          Kind: "iptablesJump",
          Object: "iptables-nft DOCKER-USER: -m comment --comment hostnet -j HOSTNET-FORWARD",
        },
      ]);
      await docker("network", "create", "--driver", "hostnet", "--subnet", "10.67.0.0/24", "hn2");
      // Docker puts its RETURN back when it makes a network; hostnet's jump goes first again.
      expect(await dockerUser()).toEqual(["-N DOCKER-USER", JUMP, "-A DOCKER-USER -j RETURN"]);
      await docker("network", "rm", "hn", "hn2");
      expect(await dockerUser()).toEqual(["-N DOCKER-USER", "-A DOCKER-USER -j RETURN"]);
    });
  },
);
