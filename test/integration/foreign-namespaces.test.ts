import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { needsRoot } from "../helpers/root.js";
import { inNs, must } from "../helpers/run.js";

const FOREIGN = 300;

/** The namespaces hostnetd ran a command in, from its debug log (`op: "exec"`, one line per command). */
function entered(logs: string): Set<string> {
  const out = new Set<string>();
  for (const line of logs.split("\n")) {
    if (!line.includes('"op":"exec"')) continue;
    const { argv } = JSON.parse(line) as { argv: string[] };
    for (const arg of argv) if (arg.startsWith("--net=")) out.add(arg.slice("--net=".length));
  }
  return out;
}

describe.skipIf(needsRoot)("namespaces that are not hostnet's cost nothing", () => {
  const foreign: string[] = [];
  const lab = useLab({
    logLevel: "debug",
    // Made before hostnetd starts, so its start-up converge sees them; half have an id in its namespace, as
    // the namespaces of containers with a veth to it do.
    async prepare(t) {
      for (let i = 0; i < FOREIGN; i++) foreign.push(t.ns(`f${String(i)}`));
      await must(["ip", "-batch", "-"], { input: foreign.map((n) => `netns add ${n}\n`).join("") });
      const ids = foreign.filter((_, i) => i % 2 === 0).map((n) => `netns set ${n} auto\n`);
      await must(inNs(t.host, ["ip", "-batch", "-"]), { input: ids.join("") });
    },
  });

  it("enters none of them at start-up, in a converge or in a plan; the plan stays empty", async () => {
    const { t, d } = lab;
    await lab.network("n1", ["10.71.0.0/24"]);
    await lab.container("c1", "n1");
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);

    const paths = entered(d.logs());
    expect(paths).toContain(`/run/netns/${t.ns("c1")}`);
    expect(foreign.filter((n) => paths.has(`/run/netns/${n}`))).toEqual([]);
  });

  it("still finds and removes a namespace it made whose record is gone, and only that one", async () => {
    const { t, d } = lab;
    const lost = t.ns("lost");
    await d.ok("POST", "/namespaces", { Name: lost });
    await d.kill("SIGKILL");
    const db = new Database(join(d.stateDir, "hostnet.db"));
    db.prepare("DELETE FROM namespaces WHERE name = ?").run(lost);
    db.close();

    await d.restart();

    expect(existsSync(`/run/netns/${lost}`)).toBe(false);
    expect(existsSync(`/run/netns/${t.ns("c1")}`)).toBe(true);
    expect(foreign.filter((n) => !existsSync(`/run/netns/${n}`))).toEqual([]);
    expect((await d.ok<{ Operations: unknown[] }>("GET", "/plan")).Operations).toEqual([]);
    const paths = entered(d.logs());
    expect(paths).toContain(`/run/netns/${lost}`);
    expect(foreign.filter((n) => paths.has(`/run/netns/${n}`))).toEqual([]);
  });
});
