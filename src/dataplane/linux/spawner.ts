/**
 * hostnetd's commands, spawned by a small process of its own. A spawn blocks the event loop until the child
 * has exec'ed, and costs more the larger the spawning process is (its page tables are copied): from hostnetd
 * at 10,000 load balancers several times what it costs from a process of a few dozen MiB, while the resolver
 * and the API wait. The spawner gets each command over its IPC channel and answers with the result.
 */
import { fork, type ChildProcess } from "node:child_process";
import { KernelCommandError, processRunner, type ExecResult, type Runner } from "./exec.js";

/** A command for the spawner: `argv`, with `input` on its stdin. */
export interface SpawnRequest {
  readonly id: number;
  readonly argv: readonly string[];
  readonly input?: string;
}

/** What became of a command: its output, or why it failed (an exit code, or an error before it ran). */
export type SpawnAnswer =
  | { readonly id: number; readonly result: ExecResult }
  | { readonly id: number; readonly exitCode: number | null; readonly stderr: string }
  | { readonly id: number; readonly error: { readonly message: string; readonly code?: string } };

interface Waiting {
  readonly request: SpawnRequest;
  readonly resolve: (r: ExecResult) => void;
  readonly reject: (e: Error) => void;
}

const SPAWNER = new URL("./spawner-process.js", import.meta.url);

/**
 * A runner whose commands the spawner runs, started at the first command and again after it ends. Where it
 * cannot be started (no descriptor left for its pipes), commands are spawned from hostnetd itself.
 */
export class SpawnerRunner implements Runner {
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;

  run(argv: readonly string[], input?: string): Promise<ExecResult> {
    const child = this.child ?? this.start();
    if (child === undefined) return processRunner.run(argv, input);
    const request: SpawnRequest = { id: this.nextId++, argv, ...(input === undefined ? {} : { input }) };
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { request, resolve, reject });
      this.holdOpen(child, true);
      child.send(request, (err) => {
        if (err !== null) this.settle(request.id)?.reject(err);
      });
    });
  }

  /** Ends the spawner; commands still running in it are left to finish on their own. */
  close(): void {
    this.child?.kill("SIGTERM");
    this.child = undefined;
  }

  private start(): ChildProcess | undefined {
    let child: ChildProcess;
    try {
      // execArgv: not hostnetd's own (--cpu-prof, --inspect), which would apply to the spawner too.
      child = fork(SPAWNER, [], {
        execArgv: [],
        serialization: "advanced",
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
    } catch {
      return undefined;
    }
    child.on("message", (answer: SpawnAnswer) => this.answered(child, answer));
    child.on("error", (err) => this.lost(child, err));
    child.on("exit", (code, signal) =>
      this.lost(child, new Error(`the spawner ended (${signal ?? `exit ${String(code)}`})`)),
    );
    this.child = child;
    return child;
  }

  private answered(child: ChildProcess, answer: SpawnAnswer): void {
    const waiting = this.settle(answer.id);
    if (this.waiting.size === 0) this.holdOpen(child, false);
    if (waiting === undefined) return;
    if ("result" in answer) waiting.resolve(answer.result);
    else if ("error" in answer)
      waiting.reject(Object.assign(new Error(answer.error.message), { code: answer.error.code }));
    else
      waiting.reject(
        new KernelCommandError(waiting.request.argv, answer.exitCode, answer.stderr, waiting.request.input),
      );
  }

  /** The spawner is gone: what it was running is unknown, so each waiting command fails. */
  private lost(child: ChildProcess, err: Error): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(err);
  }

  private settle(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    return waiting;
  }

  /** An idle spawner does not keep hostnetd's event loop alive. */
  private holdOpen(child: ChildProcess, hold: boolean): void {
    const channel = child.channel as { ref(): void; unref(): void } | null | undefined;
    if (hold) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  }
}
