/** What Docker's plugin calls look like: one JSON object per POST, answered by one method each. */
import type { Options } from "./options.js";

export type Body = Record<string, unknown>;
export type Method = (body: Body) => Promise<object | undefined> | object | undefined;

/** A string field of the request; "" when it is missing or not a string. */
export const str = (body: Body, key: string): string => {
  const v = body[key];
  return typeof v === "string" ? v : "";
};

export const options = (body: Body): Options => body["Options"] as Options;
