/**
 * How the CLI prints: aligned tables for people (as `docker network ls` does), wider ones on asking, and the
 * API's answer as JSON or YAML for scripts (`--output`, as `kubectl get -o`).
 */
import { stringify } from "yaml";

export const outputFormats = ["table", "wide", "json", "yaml"] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** How a table is drawn: `wide` adds the columns left out of the usual table; `colour` bolds the header. */
export interface TableStyle {
  readonly wide: boolean;
  readonly colour: boolean;
}
export const plain: TableStyle = { wide: false, colour: false };

const gap = "   ";
const bold = (text: string): string => `\x1b[1m${text}\x1b[0m`;

/**
 * Left-aligned columns separated by three spaces, with no trailing spaces. An empty list prints the header
 * alone, so a script can tell "no rows" from "no output". The header is bolded after padding, so escape
 * codes never count towards a column's width.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  colour = false,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, i) => (cells[i] ?? "").padEnd(w))
      .join(gap)
      .trimEnd();
  const header = line(headers);
  return [colour ? bold(header) : header, ...rows.map(line)].join("\n");
}

/** One column of a table of T; a `wide` one is shown only with `--output wide`. */
export interface Column<T> {
  readonly header: string;
  readonly wide?: true;
  cell(row: T): string;
}

/** A table of `rows` with the columns `style` asks for. */
export function columnTable<T>(columns: readonly Column<T>[], rows: readonly T[], style: TableStyle): string {
  const shown = style.wide ? columns : columns.filter((c) => c.wide !== true);
  return table(
    shown.map((c) => c.header),
    rows.map((r) => shown.map((c) => c.cell(r))),
    style.colour,
  );
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** YAML 1.2 of the same value JSON would show; the trailing newline is the printer's to add. */
export const yaml = (value: unknown): string => stringify(value).trimEnd();

/** Docker's short ID: enough to be unique on one host, short enough for a table. */
export const shortId = (id: string): string => id.slice(0, 12);

/** An absent value in a table cell. */
export const none = "-";

/** json and yaml are for scripts: what the API answered, or nothing when it answered nothing. */
export const forScripts = (format: OutputFormat): boolean => format === "json" || format === "yaml";
