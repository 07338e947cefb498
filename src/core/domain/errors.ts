/**
 * Domain errors: what went wrong in business terms, with a stable `code` from one closed list.
 * They know nothing of HTTP or gRPC; each transport maps them in one place
 * (problem+json status, gRPC code).
 */
export const ERROR_CODES = [
  "validation_failed",
  "malformed_json",
  "unauthenticated",
  "token_expired",
  "invalid_credentials",
  "forbidden",
  "not_found",
  "username_taken",
  "email_taken",
  "account_exists",
  "idempotency_in_progress",
  "payload_too_large",
  "unsupported_media_type",
  "method_not_allowed",
  "insufficient_funds",
  "currency_mismatch",
  "same_account",
  "invalid_account",
  "idempotency_key_reused",
  "balance_limit_exceeded",
  "verification_failed",
  "already_verified",
  "rate_limited",
  "unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The kind of failure, which each transport turns into its own status. */
export type ErrorKind =
  | "invalid" // 400 / InvalidArgument
  | "unauthenticated" // 401 / Unauthenticated
  | "forbidden" // 403 / PermissionDenied
  | "not_found" // 404 / NotFound
  | "conflict" // 409 / AlreadyExists (or Aborted for in-flight)
  | "business_rule" // 422 / FailedPrecondition
  | "rate_limited" // 429 / ResourceExhausted
  | "unavailable"; // 503 / Unavailable

export interface FieldViolation {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(readonly violations: FieldViolation[]) {
    super(
      "invalid",
      "validation_failed",
      violations.length === 1
        ? `${violations[0]?.field} ${violations[0]?.message}`
        : `${violations.length} fields are invalid`,
    );
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super("not_found", "not_found", `${what} not found`);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super("forbidden", "forbidden", message);
  }
}

export class ConflictError extends DomainError {
  constructor(
    code: "username_taken" | "email_taken" | "account_exists" | "idempotency_in_progress",
    message: string,
  ) {
    super("conflict", code, message);
  }
}

export class BusinessRuleError extends DomainError {
  constructor(
    code:
      | "insufficient_funds"
      | "currency_mismatch"
      | "same_account"
      | "invalid_account"
      | "idempotency_key_reused"
      | "balance_limit_exceeded"
      | "verification_failed"
      | "already_verified",
    message: string,
  ) {
    super("business_rule", code, message);
  }
}

export class UnavailableError extends DomainError {
  constructor(
    message = "a dependency is unavailable; retry shortly",
    /** Extra members of the error body (e.g. readiness checks). */
    readonly details: Record<string, unknown> = {},
  ) {
    super("unavailable", "unavailable", message);
  }
}

/** 401: no, bad, expired or revoked credentials. Never says which part of a login was wrong. */
export class UnauthenticatedError extends DomainError {
  constructor(
    code: "unauthenticated" | "token_expired" | "invalid_credentials" = "unauthenticated",
    message = "authentication required",
  ) {
    super("unauthenticated", code, message);
  }
}

/** 429: too many attempts; `retryAfterSeconds` becomes the Retry-After header. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    /** The limit that was hit (requests per window). */
    readonly limit: number,
    message = "too many requests; retry later",
  ) {
    super("rate_limited", "rate_limited", message);
  }
}
