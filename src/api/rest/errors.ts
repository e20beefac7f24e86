/**
 * HostnetError → HTTP status and the `{error: {code, message, field?}}` body, defined once, the field named
 * as HNS names it.
 */
import type { FastifyError } from "fastify";
import { asHostnetError, HostnetError, renameField, type ErrorCode } from "../../errors.js";
import { hnsFieldNames } from "../hns-fields.js";

export const httpStatus: Record<ErrorCode, number> = {
  InvalidArgument: 400,
  NotFound: 404,
  Conflict: 409,
  Unavailable: 503,
  Internal: 500,
};

export interface ErrorReply {
  status: number;
  body: { error: { code: ErrorCode; message: string; field?: string } };
}

/** Fastify's schema and body-parser errors become InvalidArgument naming the JSON field at fault. */
function fromFastify(err: FastifyError): HostnetError | undefined {
  const first = err.validation?.[0];
  if (first !== undefined) {
    const path = first.instancePath
      .split("/")
      .filter((p) => p !== "")
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
      .join("")
      .replace(/^\./, "");
    const { missingProperty: missing, additionalProperty: unknown } = first.params as {
      missingProperty?: string;
      additionalProperty?: string;
    };
    const named = missing ?? unknown;
    const field = [path, named].filter((p) => p !== undefined && p !== "").join(".") || "body";
    const message =
      missing !== undefined
        ? "is required"
        : unknown !== undefined
          ? "is not a field hostnet knows (nor one of HNS's it ignores, docs/api.md)"
          : (first.message ?? "is invalid");
    return new HostnetError("InvalidArgument", `${field}: ${message}`, { field });
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
    return new HostnetError("InvalidArgument", `body: ${err.message}`, { field: "body" });
  return undefined;
}

export function errorReply(err: unknown): ErrorReply {
  const fastify = err instanceof Error && "code" in err ? fromFastify(err as FastifyError) : undefined;
  const e = fastify ?? renameField(asHostnetError(err), hnsFieldNames);
  const body = { code: e.code, message: e.message };
  return {
    status: httpStatus[e.code],
    body: { error: e.detail.field === undefined ? body : { ...body, field: e.detail.field } },
  };
}
