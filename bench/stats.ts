/** Medians and percentiles for benchmark samples (milliseconds). */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);
export const round = (n: number): number => Math.round(n * 100) / 100;
