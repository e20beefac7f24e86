import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { httpStatus } from "../../src/api/rest/errors.js";
import { errorCodes } from "../../src/errors.js";

const doc = readFileSync(resolve(import.meta.dirname, "../../docs/errors.md"), "utf8");

/** Rows of the docs table: code → HTTP status. */
function documented(): Map<string, number> {
  const rows = doc.split("\n").filter((l) => /^\|\s*[A-Z][A-Za-z]+\s*\|\s*\d{3}\s*\|/.test(l));
  return new Map(
    rows.map((l) => {
      const [, code, status] = l.split("|").map((c) => c.trim());
      return [code ?? "", Number(status)];
    }),
  );
}

describe("docs/errors.md", () => {
  it("lists exactly the error codes of src/errors.ts, with the HTTP status the REST API uses", () => {
    expect(Object.fromEntries(documented())).toEqual(
      Object.fromEntries(errorCodes.map((c) => [c, httpStatus[c]])),
    );
  });
});
