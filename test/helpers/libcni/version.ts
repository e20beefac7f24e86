/**
 * The libcni release this driver follows, and spec versions as its pkg/version parses and compares them
 * (containernetworking/cni v1.3.0).
 */

/** The containernetworking/cni release (git tag) whose libcni the driver reproduces. */
export const LIBCNI_RELEASE = "v1.3.0";

/** The spec version that release implements (version.Current()). */
export const CURRENT_VERSION = "1.1.0";

function parseVersion(version: string): [number, number, number] {
  if (version === "") return [0, 1, 0]; // no version declared means 0.1.0
  const parts = version.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${JSON.stringify(version)}: too many parts`);
  const names = ["major", "minor", "micro"];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((part, i) => {
    if (!/^[+-]?\d+$/.test(part))
      throw new Error(
        `failed to convert ${names[i] ?? ""} version part ${JSON.stringify(part)}: ` +
          `strconv.Atoi: parsing ${JSON.stringify(part)}: invalid syntax`,
      );
    out[i] = Number(part);
  });
  return out;
}

/** Compares two spec versions numerically (0.3.0 < 0.3.1 < 0.4.0 < 1.0.0 < 1.1.0); throws on a bad one. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  return 0;
}

/** version.GreaterThanOrEqualTo. */
export const versionAtLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

/** The comparison where libcni ignores a malformed version (GC, STATUS): false then. */
export function versionAtLeastOrFalse(version: string, min: string): boolean {
  try {
    return versionAtLeast(version, min);
  } catch {
    return false;
  }
}
