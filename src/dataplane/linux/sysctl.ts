/** Sysctls of hostnetd's own network namespace: /proc/sys/net is per netns of the reading process. */
import { readFile, writeFile } from "node:fs/promises";

const path = (key: string): string => `/proc/sys/${key}`;

export async function readSysctl(key: string): Promise<string | undefined> {
  try {
    return (await readFile(path(key), "utf8")).trim();
  } catch {
    return undefined;
  }
}

export async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(path(key), value);
}
