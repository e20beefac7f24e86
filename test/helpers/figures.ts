/** The seed and sizes of the chaos, concurrency and fuzz runs, from the environment, and how they report. */

/** A seed from HOSTNET_SEED, or a fresh one: printed with every figure, so a failing run can be repeated. */
export const seed = Number(process.env["HOSTNET_SEED"] ?? Math.floor(Math.random() * 2 ** 31));

/** A size from the environment variable `name`, or `fallback`. */
export function size(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** One line of figures a run prints, `<what>: {json}`, for docs/testing.md and the closing note. */
export function report(what: string, figures: object): void {
  process.stdout.write(`${what}: ${JSON.stringify(figures)}\n`);
}
