/** Waiting in tests, for a condition or a promise, with a deadline. */

/** Polls `check` every `everyMs` until it holds or `ms` pass: how long it took, or undefined if it never held. */
export async function within(
  ms: number,
  check: () => Promise<boolean>,
  everyMs = 100,
): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return undefined;
}

/** Whether `p` settles within `ms`. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
