import type { ErrorCode } from "../../domain/errors.ts";

/**
 * What each problem `code` means: shown in the OpenAPI description (rendered on /docs) and at
 * `/problems/<code>`, the URI every problem's `type` names.
 */
export const PROBLEM_CATALOG: Record<ErrorCode, { status: number; meaning: string }> = {
  validation_failed: {
    status: 400,
    meaning: "A field is missing, of the wrong type or against its rule; `errors` lists every one.",
  },
  malformed_json: { status: 400, meaning: "The body is not valid JSON." },
  unauthenticated: {
    status: 401,
    meaning: "No, malformed, tampered or revoked token, or a session that is no longer valid.",
  },
  token_expired: { status: 401, meaning: "The token has expired: renew it or log in again." },
  invalid_credentials: { status: 401, meaning: "Wrong username or password (never says which)." },
  forbidden: {
    status: 403,
    meaning: "Authenticated, but this resource is another user's, or your role does not allow it.",
  },
  not_found: { status: 404, meaning: "No such resource, or no such route." },
  method_not_allowed: {
    status: 405,
    meaning: "The path exists; the `Allow` header lists its methods.",
  },
  username_taken: { status: 409, meaning: "Another user has this username." },
  email_taken: {
    status: 409,
    meaning: "Another user has this email address (case-insensitively).",
  },
  account_exists: { status: 409, meaning: "You already have an account in this currency." },
  idempotency_in_progress: {
    status: 409,
    meaning: "A request with this Idempotency-Key is still running; retry shortly.",
  },
  payload_too_large: { status: 413, meaning: "The body is over 64 KiB." },
  unsupported_media_type: { status: 415, meaning: "Send JSON bodies as `application/json`." },
  insufficient_funds: { status: 422, meaning: "The balance is lower than the amount." },
  currency_mismatch: { status: 422, meaning: "The account's currency is not the request's." },
  same_account: { status: 422, meaning: "From and to are the same account." },
  invalid_account: {
    status: 422,
    meaning: "A treasury account cannot take part in this operation.",
  },
  idempotency_key_reused: {
    status: 422,
    meaning: "This Idempotency-Key was used before with a different request.",
  },
  balance_limit_exceeded: {
    status: 422,
    meaning: "The result would exceed the largest balance the bank can hold exactly.",
  },
  verification_failed: {
    status: 422,
    meaning: "The verification link is wrong, unknown, already used or expired.",
  },
  already_verified: {
    status: 422,
    meaning: "Your email address is already verified: there is nothing to send.",
  },
  rate_limited: { status: 429, meaning: "Too many requests; wait `Retry-After` seconds." },
  unavailable: {
    status: 503,
    meaning: "A dependency (the database) is unavailable; retry after `Retry-After` seconds.",
  },
  internal: {
    status: 500,
    meaning: "Unexpected error; it was logged with the request id (never detailed here).",
  },
};

export function problemCatalogMarkdown(): string {
  const rows = Object.entries(PROBLEM_CATALOG)
    .sort(([, a], [, b]) => a.status - b.status)
    .map(([code, { status, meaning }]) => `| ${status} | \`${code}\` | ${meaning} |`);
  return ["| status | code | meaning |", "|---|---|---|", ...rows].join("\n");
}
