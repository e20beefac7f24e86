import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, run } from "../helpers/run.js";
import { askTcp, startEchoServers } from "../helpers/traffic.js";

// Low enough to run out, high enough for hostnetd's start: the module loader opens its files side by side.
const SOFT = 160;
const HARD = 256;

function limitOf(pid: number): string | undefined {
  return readFileSync(`/proc/${String(pid)}/limits`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"))
    ?.replace(/\s+/g, " ");
}

const mapping = (port: number): Record<string, unknown> => ({
  Type: "PortMapping",
  Settings: { Protocol: "TCP", InternalPort: 80, ExternalPort: port },
});

/** Opens `count` TCP connections from `ns` to [::1]:port, holds them a while, and says how many connected. */
function flood(ns: string, port: number, count: number): Promise<string> {
  const script = `
    const net = require("node:net");
    let done = 0, ok = 0;
    for (let i = 0; i < ${String(count)}; i++) {
      const s = net.connect({ host: "::1", port: ${String(port)} });
      s.on("connect", () => { ok++; if (++done === ${String(count)}) finish(); });
      s.on("error", () => { if (++done === ${String(count)}) finish(); });
    }
    function finish() { setTimeout(() => { console.log(ok); process.exit(0); }, 1500); }`;
  return run(inNs(ns, [process.execPath, "-e", script]), { timeoutMs: 20_000 }).then((r) => r.stdout);
}

describe.skipIf(needsRoot)(
  "file descriptors: hostnetd refuses what it cannot serve and never crashes",
  () => {
    const lab = useLab({ fileLimit: { soft: SOFT, hard: HARD } });

    it("runs with its soft limit raised to the hard one (Node raises it at start)", () => {
      expect(limitOf(lab.d.pid)).toBe(`Max open files ${String(HARD)} ${String(HARD)} files `);
    });

    it("answers 503 naming file descriptors for more [::1] relays than it can hold, and serves the rest", async () => {
      const { t, d } = lab;
      await lab.network("n1", ["10.58.0.0/24"]);
      await d.ok("POST", "/namespaces", { Name: t.ns("c1") });
      const many = await d.api("POST", "/endpoints", {
        Name: "many",
        HostComputeNetwork: "n1",
        HostComputeNamespace: t.ns("c1"),
        Policies: Array.from({ length: HARD }, (_, i) => mapping(9000 + i)),
      });
      expect(many.status).toBe(503);
      expect(JSON.stringify(many.body)).toMatch(/no file descriptor left for the \[::1\] relay/);
      expect(await lab.plan()).toEqual([]);

      await d.ok("POST", "/endpoints", {
        Name: "c1",
        HostComputeNetwork: "n1",
        HostComputeNamespace: t.ns("c1"),
        Policies: [mapping(8081)],
      });
      lab.cleanup.track(await startEchoServers(t.ns("c1"), 80));
      expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
      expect(await askTcp(t.host, "::1", 8081)).toBeDefined();
    });

    it("keeps running when connections to a relay use up its file descriptors", async () => {
      const { t, d } = lab;
      const connected = Number(await flood(t.host, 8081, HARD * 2));
      expect(connected).toBeGreaterThan(0);
      expect((await d.api("GET", "/globals/version")).status).toBe(200);
      // The relay serves again once the flood's connections are closed, which a loaded machine may take a while to do.
      await expect.poll(() => askTcp(t.host, "::1", 8081), { timeout: 15_000, interval: 500 }).toBeDefined();
      expect(await askTcp(t.ext, t.hostIp4, 8081)).toBe(t.extIp4);
      // Until the last of them is closed, observing may fail for want of a descriptor (a 500 naming EMFILE),
      // never see what is there as missing.
      await expect
        .poll(() => lab.plan().catch((err: unknown) => String(err)), { timeout: 15_000, interval: 500 })
        .toEqual([]);
    });

    it("reads the resolv.conf of more namespaces than it has descriptors, and still sees its own", async () => {
      const { t } = lab;
      // Other namespaces' files, named with the test's prefix so that its cleanup removes them.
      for (let i = 0; i < HARD * 4; i++) {
        const dir = `/etc/netns/${t.ns(`other${String(i)}`)}`;
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${dir}/resolv.conf`, "nameserver 192.0.2.53\n");
      }
      expect(await lab.plan()).toEqual([]);
    });
  },
);
