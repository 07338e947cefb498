import type { z } from "@hono/zod-openapi";
import { ProblemSchema } from "./schemas.ts";

/**
 * The error responses of a route, for its OpenAPI `responses`: each status with the problem
 * codes it can carry. Spread into every route so the document lists every error.
 */
const PROBLEM_STATUSES = {
  400: "Invalid request: `validation_failed` (every bad field in `errors`) or `malformed_json`",
  401: "Missing, malformed, expired, revoked or tampered token (`unauthenticated`, `token_expired`), or a failed login (`invalid_credentials`)",
  403: "Authenticated but not allowed: another user's resource, or a role you do not have (`forbidden`)",
  404: "No such resource (`not_found`)",
  405: "Known path, other method (`method_not_allowed`); see the `Allow` header",
  409: "Conflict: `username_taken`, `email_taken`, `account_exists`, or `idempotency_in_progress`",
  413: "Body over 64 KiB (`payload_too_large`)",
  415: "The body is not `application/json` (`unsupported_media_type`)",
  422: "Well-formed but against a business rule: `insufficient_funds`, `currency_mismatch`, `same_account`, `invalid_account`, `idempotency_key_reused`, `balance_limit_exceeded`, `verification_failed`, `already_verified`",
  429: "Rate limited (`rate_limited`); see `Retry-After`",
  500: "Unexpected error (`internal`); details are logged under the request id, never returned",
  503: "A dependency (the database) is unavailable (`unavailable`); see `Retry-After`",
} as const;

export type ProblemStatus = keyof typeof PROBLEM_STATUSES;

const RetryAfter = {
  "Retry-After": {
    description: "Seconds to wait before retrying",
    schema: { type: "integer" as const },
  },
};

function problemResponse(status: ProblemStatus) {
  return {
    description: PROBLEM_STATUSES[status],
    content: { "application/problem+json": { schema: ProblemSchema } },
    ...(status === 429 || status === 503 ? { headers: RetryAfter } : {}),
  };
}

/** Every route can fail these ways. */
const ALWAYS: ProblemStatus[] = [500, 503];
/** Routes with a JSON body can also fail these ways. */
export const BODY_PROBLEMS: ProblemStatus[] = [400, 413, 415];
/** Routes behind `requireAuth`. */
export const AUTH_PROBLEMS: ProblemStatus[] = [401];

export function problems(...statuses: ProblemStatus[]) {
  const all = [...new Set([...statuses, ...ALWAYS])].sort((a, b) => a - b);
  return Object.fromEntries(all.map((status) => [status, problemResponse(status)])) as Record<
    ProblemStatus,
    ReturnType<typeof problemResponse>
  >;
}

/** A success response with a JSON body. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    body: {
      required: true,
      ...(description ? { description } : {}),
      content: { "application/json": { schema } },
    },
  };
}
