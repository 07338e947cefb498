import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isUnavailableError } from "../db/errors.ts";
import { ERROR_TABLE, type ErrorCode, type ErrorKind, kindOf } from "../domain/error-codes.ts";
import {
  DomainError,
  type FieldViolation,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from "../domain/errors.ts";
import type { AppEnv } from "./env.ts";

/**
 * RFC 9457 problem details: the one error envelope of every HTTP response that fails.
 * `type` is `/problems/<code>`; `code`, and from it the `title` and the kind, come from the one
 * table of codes (src/core/domain/error-codes.ts). This file is the ONE place errors become
 * HTTP: the kind gives the status, through STATUS_OF_KIND.
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

/** The HTTP status of each kind of failure: the one place a status comes from. */
export const STATUS_OF_KIND = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  business_rule: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<ErrorKind, ContentfulStatusCode>;

/** Every status a problem can have. */
export type ProblemStatus = (typeof STATUS_OF_KIND)[ErrorKind];

/** The HTTP status of a code: its kind's. */
export function statusOf(code: ErrorCode): ProblemStatus {
  return STATUS_OF_KIND[kindOf(code)];
}

/** Seconds a client should wait after a 503. */
const UNAVAILABLE_RETRY_AFTER = "5";

/** A problem+json response of `code`: its status from its kind, its title from the table. */
export function problemResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  detail: string,
  extra: Partial<Problem> = {},
): Response {
  const requestId = c.get("requestId");
  const status = statusOf(code);
  c.set("errorCode", code);
  const body: Problem = {
    type: `/problems/${code}`,
    title: ERROR_TABLE[code].title,
    status,
    detail,
    code,
    ...(requestId ? { request_id: requestId } : {}),
    ...extra,
  };
  return c.body(JSON.stringify(body), status, { "Content-Type": "application/problem+json" });
}

/**
 * The HTTPExceptions the app meets, as problems: @hono/zod-openapi's 415 for a body that is not
 * application/json, and Hono's JSON validator's 400 for one that does not parse. (The body limit
 * answers 413 itself; the validation hook answers every other bad request.) Any other would be
 * unexpected, and is handled as every unexpected error: logged, 500.
 */
const HTTP_EXCEPTIONS: Partial<Record<number, [code: ErrorCode, detail: string]>> = {
  400: ["malformed_json", "the request body is not valid JSON"],
  415: ["unsupported_media_type", "send the body as application/json"],
};

/** The app's error handler: domain errors, Hono's HTTP exceptions, then anything else. */
export function errorResponse(c: Context<AppEnv>, error: unknown): Response {
  if (error instanceof DomainError) return domainErrorResponse(c, error);
  const known = error instanceof HTTPException ? HTTP_EXCEPTIONS[error.status] : undefined;
  if (known) return problemResponse(c, ...known);
  const ctx = c.get("ctx");
  if (isUnavailableError(error)) {
    // Expected and handled: the outage log warns once per outage; the request line says 503.
    ctx?.databaseOutage.down(error);
    return unavailableResponse(c, "the service is temporarily unavailable; retry shortly");
  }
  ctx?.logger.error("unhandled error", { error });
  return problemResponse(c, "internal", "an unexpected error occurred; it has been logged");
}

/** 503 `unavailable` with Retry-After. */
export function unavailableResponse(c: Context<AppEnv>, detail: string): Response {
  c.header("Retry-After", UNAVAILABLE_RETRY_AFTER);
  return problemResponse(c, "unavailable", detail);
}

function domainErrorResponse(c: Context<AppEnv>, error: DomainError): Response {
  if (error.kind === "unavailable") c.header("Retry-After", UNAVAILABLE_RETRY_AFTER);
  if (error.kind === "unauthenticated") c.header("WWW-Authenticate", wwwAuthenticate(error.code));
  if (error instanceof RateLimitedError) {
    // Retry-After, and the IETF draft's RateLimit-* fields.
    c.header("Retry-After", String(error.retryAfterSeconds));
    c.header("RateLimit-Limit", String(error.limit));
    c.header("RateLimit-Remaining", "0");
    c.header("RateLimit-Reset", String(error.retryAfterSeconds));
  }
  return problemResponse(
    c,
    error.code,
    error.message,
    error instanceof ValidationError
      ? { errors: error.violations }
      : error instanceof UnavailableError
        ? error.details
        : {},
  );
}

/** RFC 9110 requires a challenge on 401; RFC 6750 says which Bearer error it was. */
function wwwAuthenticate(code: ErrorCode): string {
  if (code === "token_expired") {
    return 'Bearer realm="simplebank", error="invalid_token", error_description="the token has expired"';
  }
  if (code === "unauthenticated") return 'Bearer realm="simplebank", error="invalid_token"';
  return 'Bearer realm="simplebank"';
}

export const payloadTooLarge = (c: Context<AppEnv>) =>
  problemResponse(c, "payload_too_large", "the request body is larger than 64 KiB");
