import { ERROR_TABLE, type ErrorCode } from "../../domain/error-codes.ts";
import { type Problem, statusOf } from "../problem.ts";

/**
 * The example problem of each code, as the OpenAPI document shows it under each error status
 * (so a 401 shows a 401, never a 400): the code's own status, type and title, and a detail
 * like the ones the app writes. A code without a detail here shows its meaning.
 */
const DETAILS: Partial<Record<ErrorCode, string>> = {
  validation_failed: "2 fields are invalid",
  malformed_json: "the request body is not valid JSON",
  unauthenticated: "authorization header is not provided",
  token_expired: "token has expired",
  invalid_credentials: "invalid username or password",
  forbidden: "this account belongs to another user",
  not_found: "account not found",
  recipient_not_found: "bob has no EUR account",
  username_taken: "this username is already taken",
  email_taken: "this email address is already registered",
  account_exists: "you already have a USD account",
  idempotency_in_progress: "a request with this Idempotency-Key is still running; retry shortly",
  payload_too_large: "the request body is larger than 64 KiB",
  unsupported_media_type: "send the body as application/json",
  method_not_allowed: "DELETE is not allowed here; use GET, POST",
  insufficient_funds: "the balance is lower than the amount",
  currency_mismatch: "the account's currency is EUR, not USD",
  same_account: "cannot transfer to the same account",
  invalid_account: "a treasury account cannot take part in this operation",
  idempotency_key_reused: "this Idempotency-Key was used with a different request",
  verification_failed: "this verification link is invalid, already used or expired",
  already_verified: "your email address is already verified",
  rate_limited: "too many requests; retry in 30 seconds",
  unavailable: "the database is unavailable; retry shortly",
  internal: "an unexpected error occurred; it was logged with the request id",
};

/** A sample request id: the `X-Request-Id` of the response. */
const REQUEST_ID = "0f5c2b9e-7a41-4c1d-9a57-2f3e8d6b1c40";

export function problemExample(code: ErrorCode): Problem {
  const { title, meaning } = ERROR_TABLE[code];
  return {
    type: `/problems/${code}`,
    title,
    status: statusOf(code),
    detail: DETAILS[code] ?? meaning.replaceAll("`", ""),
    code,
    request_id: REQUEST_ID,
    ...(code === "validation_failed"
      ? {
          errors: [
            { field: "email", message: "is not a valid email address" },
            { field: "full_name", message: "is required" },
          ],
        }
      : {}),
  };
}
