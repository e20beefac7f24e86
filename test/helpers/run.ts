/** Runs a command with a timeout for tests; never through a shell. */
import { spawn } from "node:child_process";

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  argv: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("empty argv");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: opts.timeoutMs ?? 15_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Like run, but a non-zero exit is an error carrying argv and stderr. */
export async function must(
  argv: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${String(r.code)}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** argv to run a command inside a named network namespace without a new mount namespace. */
export const inNs = (ns: string, argv: readonly string[]): string[] => [
  "nsenter",
  `--net=/run/netns/${ns}`,
  ...argv,
];
