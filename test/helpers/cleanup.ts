/** Cleanup steps registered as resources are made, run in reverse; every step runs even if one fails. */
export class Cleanup {
  private readonly steps: (() => Promise<void>)[] = [];

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Registers something that stops, and hands it back. */
  track<T extends { stop(): Promise<void> }>(resource: T): T {
    this.add(() => resource.stop());
    return resource;
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
  }
}

/** Undoes what a failed start made, then throws the start's error; both errors when undoing fails too. */
export async function failAfterCleanup(
  err: unknown,
  cleanup: () => Promise<void>,
  what: string,
): Promise<never> {
  try {
    await cleanup();
  } catch (cleanupErr) {
    throw new AggregateError([err, cleanupErr], `${what} did not start, nor clean up`, { cause: cleanupErr });
  }
  throw err;
}
