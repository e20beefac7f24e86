/** Polls `check` every 100 ms until it holds or `ms` pass: how long it took, or undefined if it never held. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number | undefined> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
