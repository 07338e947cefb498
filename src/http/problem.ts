import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { DomainError, ErrorCode, ErrorKind, FieldViolation } from "../domain/errors.ts";
import { ValidationError } from "../domain/errors.ts";

/**
 * RFC 9457 problem details: the one error envelope of every HTTP response that fails.
 * `type` is `/problems/<code>`; `code` comes from the closed list in src/domain/errors.ts.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id?: string;
  errors?: FieldViolation[];
  [extension: string]: unknown;
}

export const STATUS_OF_KIND: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  business_rule: 422,
  rate_limited: 429,
  unavailable: 503,
};

const TITLES: Partial<Record<ErrorCode, string>> = {
  validation_failed: "Request validation failed",
  not_found: "Not found",
  forbidden: "Forbidden",
  unavailable: "Service unavailable",
  internal: "Internal server error",
  method_not_allowed: "Method not allowed",
};

function titleOf(code: ErrorCode): string {
  return TITLES[code] ?? code.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  detail: string,
  extra: Partial<Problem> = {},
): Response {
  const requestId = c.get("requestId" as never) as string | undefined;
  const body: Problem = {
    type: `/problems/${code}`,
    title: titleOf(code),
    status,
    detail,
    code,
    ...(requestId ? { request_id: requestId } : {}),
    ...extra,
  };
  return c.body(JSON.stringify(body), status, { "Content-Type": "application/problem+json" });
}

/** The one mapping from domain errors to HTTP. */
export function domainErrorResponse(c: Context, error: DomainError): Response {
  const status = STATUS_OF_KIND[error.kind];
  if (status === 503) c.header("Retry-After", "5");
  return problemResponse(
    c,
    status,
    error.code,
    error.message,
    error instanceof ValidationError ? { errors: error.violations } : {},
  );
}
