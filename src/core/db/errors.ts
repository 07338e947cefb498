/**
 * Postgres error inspection. Drizzle wraps driver errors (DrizzleQueryError), so the
 * postgres.js error with `code` and `constraint_name` sits somewhere down the `.cause` chain.
 */
export interface PostgresErrorInfo {
  code: string;
  constraint: string | undefined;
  message: string;
}

export const PG = {
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  checkViolation: "23514",
  serializationFailure: "40001",
  deadlockDetected: "40P01",
  adminShutdown: "57P01",
  cannotConnectNow: "57P03",
} as const;

type DriverError = Error & {
  code?: unknown;
  constraint_name?: unknown;
  severity?: unknown;
  cause?: unknown;
};

/** The error and the errors it wraps (`.cause`), outermost first, at most 8 deep. */
function* causeChain(error: unknown): Generator<DriverError> {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    yield current;
    current = (current as DriverError).cause;
  }
}

export function postgresError(error: unknown): PostgresErrorInfo | undefined {
  for (const candidate of causeChain(error)) {
    if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      return {
        code: candidate.code,
        constraint:
          typeof candidate.constraint_name === "string" ? candidate.constraint_name : undefined,
        message: candidate.message,
      };
    }
  }
  return undefined;
}

/** A violation of the named constraint (unique, check or foreign key). */
export function isConstraintViolation(error: unknown, constraint: string): boolean {
  return postgresError(error)?.constraint === constraint;
}

/** Errors after which re-running the whole transaction is safe and may succeed. */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = postgresError(error)?.code;
  return code === PG.serializationFailure || code === PG.deadlockDetected;
}

/** postgres.js and socket error codes that mean "the database cannot be reached right now". */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * The database is unreachable or refusing work (down, restarting, connection cut, too many
 * connections, not accepting connections): a 503 with Retry-After, not a 500.
 */
export function isUnavailableError(error: unknown): boolean {
  for (const { code, severity } of causeChain(error)) {
    if (typeof code === "string") {
      if (CONNECTION_CODES.has(code)) return true;
      // 08: connection exception; 57P01-03: shutdown / cannot connect now; 53300: too many connections.
      if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code) || code === "53300") return true;
    }
    // FATAL ends the session: the server refused or dropped the connection itself, whatever the
    // code (e.g. 55000 "database is not currently accepting connections"). Query errors are ERROR.
    if (severity === "FATAL" || severity === "PANIC") return true;
  }
  return false;
}
