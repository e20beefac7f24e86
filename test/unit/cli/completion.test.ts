/** The completion scripts, generated from the command table; bash's run here as bash runs them. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runCli } from "./fake-hostnetd.js";

async function script(shell: string): Promise<string> {
  const result = await runCli(["completion", shell]);
  expect(result).toMatchObject({ code: 0, stderr: "" });
  return result.stdout;
}

/** What bash offers after `words`, the last being the word being completed. */
async function bashOffers(...words: string[]): Promise<string[]> {
  const line = ["hostnet", ...words].map((w) => `'${w}'`).join(" ");
  const driver = `${await script("bash")}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}\n_hostnet\nprintf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync("bash", ["--norc", "-c", driver], { encoding: "utf8" }).split("\n").filter(Boolean);
}

describe("hostnet completion", () => {
  it("bash offers the nouns, then their verbs, aliases included", async () => {
    expect(await bashOffers("")).toEqual(expect.arrayContaining(["network", "endpoint", "completion"]));
    expect((await bashOffers("network", "")).sort()).toStrictEqual(
      ["create", "inspect", "list", "ls", "remove", "rm"].sort(),
    );
    expect(await bashOffers("--socket", "/run/x.sock", "net")).toStrictEqual(["network"]);
  });

  it("bash skips the value of -o and --output as it does --socket's", async () => {
    expect(await bashOffers("-o", "yaml", "net")).toStrictEqual(["network"]);
    expect(await bashOffers("--output", "wide", "end")).toStrictEqual(["endpoint"]);
  });

  it("bash offers a command's own options and the global ones, past option values and names", async () => {
    const options = await bashOffers("network", "create", "web", "--subnet", "10.0.0.0/24", "--");
    expect(options).toEqual(expect.arrayContaining(["--type", "--subnet", "--mtu", "--socket", "--json"]));
    expect(await bashOffers("endpoint", "list", "--net")).toStrictEqual(["--network"]);
  });

  it("zsh runs the bash script through bashcompinit; fish gets its own commands", async () => {
    expect(await script("zsh")).toMatch(
      /^#compdef hostnet\n[\s\S]*bashcompinit[\s\S]*complete -F _hostnet hostnet\n$/,
    );
    const fish = await script("fish");
    expect(fish).toContain(
      "complete -c hostnet -f -n '__fish_use_subcommand; and not __fish_seen_subcommand_from",
    );
    expect(fish).toMatch(
      /complete -c hostnet -n '__fish_seen_subcommand_from network; and __fish_seen_subcommand_from create' -l subnet -r -d /,
    );
  });

  it("refuses another shell as a usage error", async () => {
    expect(await runCli(["completion", "tcsh"])).toMatchObject({ code: 2, stdout: "" });
  });
});
