/** The CNI spec versions hostnet speaks, and how they order. */
export const supportedVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const latestVersion = "1.1.0";

const parts = (v: string): number[] => v.split(".").map((n) => Number.parseInt(n, 10) || 0);

export function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const atLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

export const isSupported = (version: string): boolean =>
  (supportedVersions as readonly string[]).includes(version);
