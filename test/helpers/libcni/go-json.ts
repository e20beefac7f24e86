/**
 * JSON as Go's encoding/json writes and reads it, as far as libcni (containernetworking/cni v1.3.0) shows it
 * to plugins: map keys sorted and `<>&` escaped on output; struct fields matched case-insensitively and
 * typed on input, with Go's error texts.
 */

/** Objects serialized in insertion order (Go structs); all others are maps, whose keys Go sorts. */
const ORDERED = new WeakSet<object>();

/** Marks `value` as a Go struct: `marshal` keeps its field order. */
export function struct<T extends object>(value: T): T {
  ORDERED.add(value);
  return value;
}

/** Go's string order: by UTF-8 bytes. */
export const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A JSON string as Go writes it (HTML-safe). */
export const goString = (s: string): string =>
  JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/** json.Marshal: undefined fields are omitted (omitempty), objects not marked as structs are maps. */
export function marshal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`json: unsupported value: ${value}`);
    return JSON.stringify(value);
  }
  if (typeof value !== "object") throw new Error(`json: unsupported type: ${typeof value}`);
  if (Array.isArray(value)) return `[${value.map(marshal).join(",")}]`;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
  if (!ORDERED.has(value)) keys.sort(byBytes);
  return `{${keys.map((k) => `${goString(k)}:${marshal(rec[k])}`).join(",")}}`;
}

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The JSON kind Go names in an UnmarshalTypeError. */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

/** What Go's %T prints for a value decoded into an interface{}. */
export function goTypeName(v: unknown): string {
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return "[]interface {}";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "float64";
  if (typeof v === "string") return "string";
  return "map[string]interface {}";
}

export const typeError = (v: unknown, path: string, goType: string): Error =>
  new Error(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${path} of type ${goType}`);

/** A struct field as Go's decoder finds it: the key matched case-insensitively, the last match winning. */
export function field(o: Obj, key: string): unknown {
  let found: unknown;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k === key || k.toLowerCase() === lower) found = v;
  return found;
}

export function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw typeError(v, path, "string");
  return v;
}

export function int(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(v, path, "int");
  return v;
}

export function list(v: unknown, path: string, goType: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw typeError(v, path, goType);
  return v;
}

export function record(v: unknown, path: string, goType: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw typeError(v, path, goType);
  return v;
}

export const strs = (v: unknown, path: string): string[] =>
  list(v, path, "[]string").map((s) => str(s, path));
