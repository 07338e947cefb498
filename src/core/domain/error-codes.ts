/**
 * THE table of error codes: every `code` a failure can carry, defined once, with its kind, its
 * title and its meaning. Everything else about a code is derived from here: the domain error
 * classes' allowed codes (errors.ts), the problem+json mapping (src/core/http/problem.ts), the
 * problem catalogue and the per-status descriptions of the OpenAPI document.
 *
 * No transport facts live here: a transport maps each KIND in one table of its own (HTTP:
 * `STATUS_OF_KIND` in src/core/http/problem.ts; a gRPC adapter would add a kind → gRPC code
 * table and nothing else). Runtime-neutral: no Bun, Node or Workers API.
 */

/** The kinds of failure. Each transport maps every kind to exactly one status of its own. */
export const ERROR_KINDS = [
  "invalid", // the request is malformed or breaks a field rule
  "unauthenticated", // no, bad, expired or revoked credentials
  "forbidden", // authenticated, but not allowed
  "not_found", // no such resource (or route)
  "method_not_allowed", // transport: the route exists, the method does not
  "conflict", // clashes with the current state (a taken name, a request still running)
  "payload_too_large", // transport: the body is over the limit
  "unsupported_media_type", // transport: the body is not in a format we read
  "business_rule", // well-formed, but against a rule of the bank
  "rate_limited", // too many attempts
  "internal", // a bug: logged, never detailed
  "unavailable", // a dependency is down; retry
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ErrorSpec {
  readonly kind: ErrorKind;
  /** Short, human: the `title` of a problem and the heading of its /problems/<code> page. */
  readonly title: string;
  /** What the code means to a client; markdown (backticks for names). */
  readonly meaning: string;
}

/**
 * Every code, in the order the `code` enum of the OpenAPI document lists them (the problem
 * catalogue shows them by status, then in this order).
 */
export const ERROR_TABLE = {
  validation_failed: {
    kind: "invalid",
    title: "Request validation failed",
    meaning: "A field is missing, of the wrong type or against its rule; `errors` lists every one.",
  },
  malformed_json: {
    kind: "invalid",
    title: "Malformed JSON",
    meaning: "The body is not valid JSON.",
  },
  unauthenticated: {
    kind: "unauthenticated",
    title: "Authentication required",
    meaning: "No, malformed, tampered or revoked token, or a session that is no longer valid.",
  },
  token_expired: {
    kind: "unauthenticated",
    title: "Token expired",
    meaning: "The token has expired: renew it or log in again.",
  },
  invalid_credentials: {
    kind: "unauthenticated",
    title: "Invalid credentials",
    meaning: "Wrong username or password (never says which).",
  },
  forbidden: {
    kind: "forbidden",
    title: "Forbidden",
    meaning: "Authenticated, but this resource is another user's, or your role does not allow it.",
  },
  not_found: {
    kind: "not_found",
    title: "Not found",
    meaning: "No such resource, or no such route.",
  },
  recipient_not_found: {
    kind: "not_found",
    title: "Recipient not found",
    meaning: "`to_username` has no account in this currency (never says whether the user exists).",
  },
  username_taken: {
    kind: "conflict",
    title: "Username taken",
    meaning: "Another user has this username.",
  },
  email_taken: {
    kind: "conflict",
    title: "Email taken",
    meaning: "Another user has this email address (case-insensitively).",
  },
  account_exists: {
    kind: "conflict",
    title: "Account exists",
    meaning: "You already have an account in this currency.",
  },
  idempotency_in_progress: {
    kind: "conflict",
    title: "Idempotency in progress",
    meaning: "A request with this Idempotency-Key is still running; retry shortly.",
  },
  payload_too_large: {
    kind: "payload_too_large",
    title: "Payload too large",
    meaning: "The body is over 64 KiB.",
  },
  unsupported_media_type: {
    kind: "unsupported_media_type",
    title: "Unsupported media type",
    meaning: "Send JSON bodies as `application/json`.",
  },
  method_not_allowed: {
    kind: "method_not_allowed",
    title: "Method not allowed",
    meaning: "The path exists; the `Allow` header lists its methods.",
  },
  insufficient_funds: {
    kind: "business_rule",
    title: "Insufficient funds",
    meaning: "The balance is lower than the amount.",
  },
  currency_mismatch: {
    kind: "business_rule",
    title: "Currency mismatch",
    meaning: "The account's currency is not the request's.",
  },
  same_account: {
    kind: "business_rule",
    title: "Same account",
    meaning: "From and to are the same account.",
  },
  invalid_account: {
    kind: "business_rule",
    title: "Invalid account",
    meaning: "A treasury account cannot take part in this operation.",
  },
  idempotency_key_reused: {
    kind: "business_rule",
    title: "Idempotency key reused",
    meaning: "This Idempotency-Key was used before with a different request.",
  },
  balance_limit_exceeded: {
    kind: "business_rule",
    title: "Balance limit exceeded",
    meaning: "The result would exceed the largest balance the bank can hold exactly.",
  },
  verification_failed: {
    kind: "business_rule",
    title: "Verification failed",
    meaning: "The verification or password reset link is wrong, unknown, already used or expired.",
  },
  already_verified: {
    kind: "business_rule",
    title: "Already verified",
    meaning: "Your email address is already verified: there is nothing to send.",
  },
  rate_limited: {
    kind: "rate_limited",
    title: "Too many requests",
    meaning: "Too many requests; wait `Retry-After` seconds.",
  },
  unavailable: {
    kind: "unavailable",
    title: "Service unavailable",
    meaning: "A dependency (the database) is unavailable; retry after `Retry-After` seconds.",
  },
  internal: {
    kind: "internal",
    title: "Internal server error",
    meaning: "Unexpected error; it was logged with the request id (never detailed here).",
  },
} as const satisfies Record<string, ErrorSpec>;

type Table = typeof ERROR_TABLE;
export type ErrorCode = keyof Table;

/** Every code, in the table's order (a closed list: the `code` enum of every problem). */
export const ERROR_CODES = Object.freeze(Object.keys(ERROR_TABLE)) as readonly [
  ErrorCode,
  ...ErrorCode[],
];

/** Each kind's codes, as types. */
type CodesByKind = {
  [K in ErrorKind]: { [C in ErrorCode]: Table[C]["kind"] extends K ? C : never }[ErrorCode];
};
/**
 * The codes of one kind (or of a union of kinds), as a type: `CodeOfKind<"conflict">` is
 * "username_taken" | … (an indexed access, so a `DomainError<"conflict">` is a `DomainError`).
 */
export type CodeOfKind<K extends ErrorKind> = CodesByKind[K];

export function kindOf<C extends ErrorCode>(code: C): Table[C]["kind"] {
  return ERROR_TABLE[code].kind;
}

/** The codes of one kind, in the table's order. */
export function codesOfKind<K extends ErrorKind>(kind: K): CodeOfKind<K>[] {
  return ERROR_CODES.filter((code): code is CodeOfKind<K> => ERROR_TABLE[code].kind === kind);
}
