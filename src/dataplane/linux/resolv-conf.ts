/**
 * The resolv.conf files of named namespaces, /etc/netns/NAME/resolv.conf, which `ip netns exec NAME` mounts
 * over /etc/resolv.conf. hostnetd writes them whole (a temporary file renamed, so a reader never sees half a
 * file) and reads back only those whose first line marks them hostnet's.
 */
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import pLimit from "p-limit";
import { NETNS_ETC_DIR } from "../naming.js";

const dirOf = (netns: string): string => `${NETNS_ETC_DIR}/${netns}`;
const fileOf = (netns: string): string => `${dirOf(netns)}/resolv.conf`;

export async function writeResolvConf(netns: string, text: string): Promise<void> {
  await mkdir(dirOf(netns), { recursive: true });
  const temporary = `${fileOf(netns)}.hostnet-${process.pid}`;
  await writeFile(temporary, text, { mode: 0o644 });
  await rename(temporary, fileOf(netns));
}

/** Removes the file, and its directory if nothing else is in it (`ip netns del` leaves /etc/netns/NAME). */
export async function removeResolvConf(netns: string): Promise<void> {
  await rm(fileOf(netns), { force: true });
  await rmdir(dirOf(netns)).catch(() => undefined);
}

/**
 * Only a file that is not there is absent: any other failure to read (no file descriptor left) throws, or a
 * repair would write again what is there.
 */
function absent<T>(value: T): (err: unknown) => T {
  return (err) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return value;
    throw err;
  };
}

/** A host may have thousands of namespaces: a few files at a time, not one descriptor each at once. */
const reading = pLimit(16);

/** Every namespace's resolv.conf as its first line and the rest; none when /etc/netns does not exist. */
export async function readResolvConfs(): Promise<{ netns: string; firstLine: string; rest: string }[]> {
  const names = await readdir(NETNS_ETC_DIR).catch(absent<string[]>([]));
  const files = await Promise.all(
    names.map(async (netns) => {
      const text = await reading(() => readFile(fileOf(netns), "utf8")).catch(absent(undefined));
      if (text === undefined) return [];
      const eol = text.indexOf("\n");
      return [
        { netns, firstLine: eol < 0 ? text : text.slice(0, eol), rest: eol < 0 ? "" : text.slice(eol + 1) },
      ];
    }),
  );
  return files.flat();
}
