/**
 * README's table of hostnetd's options is made from the option table (src/config/usage.ts). To write it
 * again after changing an option: `UPDATE_README=1 npx vitest run test/unit/config/readme.test.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { optionsMarkdown } from "../../../src/config/usage.js";

const readme = resolve(import.meta.dirname, "../../../README.md");
const begin = "<!-- hostnetd options: made from src/config/options.ts -->";
const end = "<!-- end of hostnetd options -->";

it("README's table of hostnetd's options is the option table's", () => {
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  expect(from, `README.md has no "${begin}"`).toBeGreaterThan(-1);
  const table = `\n\n${optionsMarkdown()}\n\n`;
  if (process.env["UPDATE_README"] === "1")
    writeFileSync(readme, `${text.slice(0, from + begin.length)}${table}${text.slice(to)}`);
  else expect(text.slice(from + begin.length, to)).toBe(table);
});
