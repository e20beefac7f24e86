/** `--qos-out RATE` and `--qos-in RATE`: units, rounding, refusals, and the way back for `policy ls`. */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/cli/errors.js";
import { formatRate, parseRate } from "../../../src/cli/rate.js";

describe("parseRate", () => {
  it.each([
    ["500", 500],
    ["500B", 500],
    ["10KB", 10_000],
    ["10kb", 10_000],
    ["1MB", 1_000_000],
    ["1.5MB", 1_500_000],
    ["1.1MB", 1_100_000],
    ["1GB", 1_000_000_000],
    ["1KiB", 1024],
    ["1.5KiB", 1536],
    ["2MiB", 2 * 1024 * 1024],
    ["1GiB", 1024 ** 3],
    ["8Mbit", 1_000_000],
    ["100kbit", 12_500],
    ["1Gbit", 125_000_000],
    ["8bit", 1],
    ["1Mibit", 131_072],
    ["1MB/s", 1_000_000],
    ["1.25KB/s", 1250],
    // A fraction of a byte per second rounds away.
    ["1001bit", 125],
    ["0.5", 1],
  ])("reads %s as %i bytes per second", (text, bytes) => {
    expect(parseRate("--qos-out", text)).toBe(bytes);
  });

  it.each([
    ["", "is not a rate in bytes per second: 500, 10KB, 1MiB, 8Mbit"],
    ["fast", "is not a rate"],
    ["-1MB", "is not a rate"],
    ["1 MB", "is not a rate"],
    ["1e6", "is not a rate"],
    ["1EB", 'unit "EB" is not one of B, KB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit, Gbit'],
    [".5MB", "is not a rate"],
    ["10XB", 'unit "XB" is not one of'],
    ["10Mbps", 'unit "Mbps" is not one of'],
    ["1MB/h", "is not a rate"],
    ["0", "is less than 1 byte per second"],
    ["1bit", "is less than 1 byte per second"],
    ["99999999999GB", "is too large"],
  ])("refuses %j naming the flag", (text, reason) => {
    const attempt = (): unknown => parseRate("--qos-in", text);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(`--qos-in "${text}"`);
    expect(attempt).toThrow(reason);
  });
});

describe("formatRate", () => {
  it.each([
    [999, "999B/s"],
    [1000, "1KB/s"],
    [1250, "1.25KB/s"],
    [1234, "1234B/s"],
    [1_500_000, "1.5MB/s"],
    [1_000_000_000, "1GB/s"],
    [1024, "1KiB/s"],
    [1536, "1.5KiB/s"],
    [1_048_576, "1MiB/s"],
    [12_500, "12.5KB/s"],
  ])("shows %i bytes per second as %s", (bytes, text) => {
    expect(formatRate(bytes)).toBe(text);
  });

  it("shows what parseRate reads back to the same number", () => {
    for (const bytes of [1, 999, 1000, 1234, 1536, 12_500, 1_048_576, 1_500_000, 123_456_789])
      expect(parseRate("--qos-out", formatRate(bytes))).toBe(bytes);
  });
});
