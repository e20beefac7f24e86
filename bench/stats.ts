/** Medians and percentiles for benchmark samples (milliseconds). */

/** The nearest-rank percentile: the smallest sample with at least p% of the samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** The median; the mean of the two middle samples when their number is even. */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  if (sorted.length === 0) return NaN;
  if (sorted.length % 2 === 1) return sorted[Math.floor(mid)] ?? NaN;
  return ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export const round = (n: number): number => Math.round(n * 100) / 100;

/** Whether an operation costs more as things pile up: medians of the first and last 20 samples, and their ratio. */
export function growth(samples: readonly number[]): {
  first20Median: number;
  last20Median: number;
  last20OverFirst20: number;
} {
  const first = median(samples.slice(0, 20));
  const last = median(samples.slice(-20));
  return { first20Median: round(first), last20Median: round(last), last20OverFirst20: round(last / first) };
}
