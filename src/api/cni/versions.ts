/** The CNI spec versions hostnet speaks, oldest first. */
export const supportedVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const latestVersion = "1.1.0";

export const isSupported = (version: string): boolean =>
  (supportedVersions as readonly string[]).includes(version);
