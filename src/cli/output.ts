/** How the CLI prints: aligned tables for people (as `docker network ls` does), indented JSON for --json. */

const gap = "   ";

/**
 * Left-aligned columns separated by three spaces, with no trailing spaces. An empty list prints the header
 * alone, so a script can tell "no rows" from "no output".
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, i) => (cells[i] ?? "").padEnd(w))
      .join(gap)
      .trimEnd();
  return [headers, ...rows].map(line).join("\n");
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** Docker's short ID: enough to be unique on one host, short enough for a table. */
export const shortId = (id: string): string => id.slice(0, 12);

/** An absent value in a table cell. */
export const none = "-";
