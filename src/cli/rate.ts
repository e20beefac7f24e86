/** Bandwidth on the command line: `10MB`, `512KiB`, `8Mbit`, to and from the API's bytes per second. */
import { UsageError } from "./errors.js";

export const rateSyntax = "bytes per second: 500, 10KB, 1MiB, 8Mbit";

// Bytes per unit. Byte units take SI (1000) or IEC (1024) prefixes as disk sizes do; bit units are what tc
// and link speeds are quoted in. Matched without case, so "kb" is kilobytes: only "bit" marks bits.
const units: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  bit: 1 / 8,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  kibit: 2 ** 10 / 8,
  mibit: 2 ** 20 / 8,
  gibit: 2 ** 30 / 8,
};

const unitNames = "B, KB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit, Gbit";

// "/s" is allowed so that the rates `policy ls` prints can be pasted back.
const pattern = /^(?<number>\d+(?:\.\d+)?)(?<unit>[a-z]*)(?:\/s)?$/i;

/**
 * @param flag the option the text came from, e.g. `--qos-out`, to name in errors
 * @example
 * parseRate("--qos-out", "8Mbit") // 1000000
 */
export function parseRate(flag: string, text: string): number {
  const m = pattern.exec(text)?.groups;
  if (m === undefined) throw new UsageError(`${flag} "${text}" is not a rate in ${rateSyntax}`);
  const { number = "", unit = "" } = m;
  const scale = units[unit.toLowerCase()];
  if (scale === undefined)
    throw new UsageError(`${flag} "${text}": unit "${unit}" is not one of ${unitNames}`);
  // Rounded: a fraction of a byte per second is below anything a shaper can tell apart.
  const bytes = Math.round(Number(number) * scale);
  if (bytes < 1) throw new UsageError(`${flag} "${text}" is less than 1 byte per second`);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag} "${text}" is too large`);
  return bytes;
}

const shown: readonly (readonly [string, number])[] = [
  ["GB", 1e9],
  ["MB", 1e6],
  ["KB", 1e3],
  ["GiB", 2 ** 30],
  ["MiB", 2 ** 20],
  ["KiB", 2 ** 10],
];

/**
 * In the first of GB…KiB that shows the rate exactly with at most two decimals, so that parseRate reads back
 * the same number: `1.5MB/s`, `1MiB/s`, `1234B/s`.
 */
export function formatRate(bytesPerSecond: number): string {
  const unit = shown.find(([, size]) => bytesPerSecond >= size && (bytesPerSecond * 100) % size === 0);
  return unit === undefined ? `${bytesPerSecond}B/s` : `${bytesPerSecond / unit[1]}${unit[0]}/s`;
}
