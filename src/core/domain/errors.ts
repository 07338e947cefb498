import { type CodeOfKind, type ErrorCode, type ErrorKind, kindOf } from "./error-codes.ts";

/**
 * Domain errors: what went wrong in business terms, with a stable `code` from the one table of
 * codes (error-codes.ts), which also gives each code its kind. They know nothing of HTTP or
 * gRPC; each transport maps the kinds in one place (problem+json status, gRPC code).
 */
export {
  type CodeOfKind,
  ERROR_CODES,
  type ErrorCode,
  type ErrorKind,
} from "./error-codes.ts";

export interface FieldViolation {
  field: string;
  message: string;
}

/**
 * A failure of kind `K`: its `code` can only be one of that kind's codes (a `ConflictError`
 * cannot carry a business-rule code: a compile error), and its `kind` is the table's, never
 * given separately.
 */
export class DomainError<K extends ErrorKind = ErrorKind> extends Error {
  readonly kind: K;

  constructor(
    readonly code: CodeOfKind<K>,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
    // CodeOfKind<K> holds only codes whose kind is K.
    this.kind = kindOf(code as ErrorCode) as K;
  }
}

export class ValidationError extends DomainError<"invalid"> {
  constructor(readonly violations: FieldViolation[]) {
    super(
      "validation_failed",
      violations.length === 1
        ? `${violations[0]?.field} ${violations[0]?.message}`
        : `${violations.length} fields are invalid`,
    );
  }
}

export class NotFoundError extends DomainError<"not_found"> {
  constructor(what: string) {
    super("not_found", `${what} not found`);
  }
}

/** Pay-by-username: the user has no account in that currency (or does not exist; never says which). */
export class RecipientNotFoundError extends DomainError<"not_found"> {
  constructor(username: string, currency: string) {
    super("recipient_not_found", `${username} has no ${currency} account`);
  }
}

export class ForbiddenError extends DomainError<"forbidden"> {
  constructor(message: string) {
    super("forbidden", message);
  }
}

/** The request clashes with the current state; `code` is one of the table's conflict codes. */
export class ConflictError extends DomainError<"conflict"> {}

/** Well-formed, but against a rule of the bank; `code` is one of the table's business-rule codes. */
export class BusinessRuleError extends DomainError<"business_rule"> {}

export class UnavailableError extends DomainError<"unavailable"> {
  constructor(
    message = "a dependency is unavailable; retry shortly",
    /** Extra members of the error body (e.g. readiness checks). */
    readonly details: Record<string, unknown> = {},
  ) {
    super("unavailable", message);
  }
}

/** No, bad, expired or revoked credentials. Never says which part of a login was wrong. */
export class UnauthenticatedError extends DomainError<"unauthenticated"> {
  constructor(
    code: CodeOfKind<"unauthenticated"> = "unauthenticated",
    message = "authentication required",
  ) {
    super(code, message);
  }
}

/** Too many attempts; `retryAfterSeconds` becomes the Retry-After header. */
export class RateLimitedError extends DomainError<"rate_limited"> {
  constructor(
    readonly retryAfterSeconds: number,
    /** The limit that was hit (requests per window). */
    readonly limit: number,
    message = "too many requests; retry later",
  ) {
    super("rate_limited", message);
  }
}
