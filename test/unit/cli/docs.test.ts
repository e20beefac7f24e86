/** The CLI as the README and docs/ describe it: the same commands, and examples that parse. */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Entry } from "../../../src/cli/command.js";
import { commands } from "../../../src/cli/commands.js";
import { runCli, startFakeHostnetd, type FakeHostnetd } from "./fake-hostnetd.js";

const root = resolve(import.meta.dirname, "../../..");
const read = (path: string): string => readFileSync(join(root, path), "utf8");

/** `network create`, `network ls`, … `plan`: every command the table dispatches. */
function leaves(entry: Entry, path: readonly string[]): string[] {
  if (entry.kind === "command") return [path.join(" ")];
  return entry.commands.flatMap((c) => leaves(c, [...path, c.names[0]]));
}

/** The README's synopsis: `  network ls | inspect NAME | rm NAME [--force]` names three commands. */
function synopsis(): string[] {
  const section = read("README.md").split("## The hostnet command")[1] ?? "";
  const block = section.split("```")[1] ?? "";
  return block
    .split("\n")
    .filter((line) => /^ {2}[a-z]/.test(line))
    .flatMap((line) => {
      const [first = "", ...others] = line.trim().split(" | ");
      const [noun = "", second] = first.split(" ");
      // `plan` and `install-cni [--bin-dir DIR]` are commands of their own, without a verb.
      const verb = second !== undefined && /^[a-z]/.test(second) ? second : undefined;
      const command = (words: string): string =>
        verb === undefined ? noun : `${noun} ${words.split(" ")[0] ?? ""}`;
      return [command(first.split(" ").slice(1).join(" ")), ...others.map(command)];
    });
}

/** Commands that work on the local machine and never ask hostnetd. */
const local = ["hostnet install-cni", "hostnet completion"];

/** Command lines in the sh blocks of docs/*.md, and the table's own examples, that ask hostnetd. */
function examples(): string[] {
  const documented = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .flatMap((f) => [...read(join("docs", f)).matchAll(/^```sh\n([\s\S]*?)^```/gm)])
    .flatMap((m) => (m[1] ?? "").split("\n"))
    .filter((line) => line.startsWith("hostnet "));
  const fromTable = (entry: Entry): string[] =>
    entry.kind === "command" ? [...entry.examples] : entry.commands.flatMap(fromTable);
  return [...documented, ...fromTable(commands)].filter((line) => !local.some((l) => line.startsWith(l)));
}

let hostnetd: FakeHostnetd;
beforeEach(async () => {
  hostnetd = await startFakeHostnetd();
});
afterEach(async () => {
  await hostnetd.close();
});

describe("README.md", () => {
  it("lists exactly the commands the CLI has", () => {
    expect(synopsis().sort()).toStrictEqual(leaves(commands, []).sort());
  });
});

describe("examples", () => {
  it.each(examples())("%s parses and reaches hostnetd", async (line) => {
    // The fake answers 404 to everything: exit 1 shows the request was built and sent; 2 would be a usage error.
    const argv = line.split(/\s+/).slice(1);
    const result = await runCli(["--socket", hostnetd.socket, ...argv]);
    expect(result.stderr).toMatch(/^hostnet: no route /);
    expect(result.code).toBe(1);
    expect(hostnetd.requests.length).toBeGreaterThan(0);
  });
});
