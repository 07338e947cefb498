/**
 * The rate limits (sliding windows), each named once: the limit `login_username` is set by the
 * variable RATE_LIMIT_LOGIN_USERNAME, counted under that name, and reported by it. Which limit
 * guards which operation is the services' choice (services/rate-limits.ts); the store that
 * counts (HTTP Redis, or in-process) is a `RateLimiter`.
 */
export const RATE_LIMITS = {
  login_username: { fallback: "5/15m", counts: "Failed logins per username" },
  login_ip: { fallback: "20/15m", counts: "Failed logins per client IP" },
  signup_ip: { fallback: "10/1h", counts: "Registrations per client IP" },
  resend_verification: {
    fallback: "3/1h",
    counts: "`POST /users/resend_verification` per user",
  },
  transfers: { fallback: "60/1m", counts: "`POST /transfers` per user" },
  password_reset_ip: {
    fallback: "10/1h",
    counts: "`POST /users/password_reset` per client IP",
  },
  password_reset_email: {
    fallback: "3/1h",
    counts: "`POST /users/password_reset` per email address (known or not)",
  },
} as const;

export type RateLimitName = keyof typeof RATE_LIMITS;
export const RATE_LIMIT_NAMES = Object.keys(RATE_LIMITS) as RateLimitName[];

/** `<requests>/<window>`, e.g. `5/15m`. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export type RateLimitRules = Record<RateLimitName, RateLimitRule>;

/** The variable that sets a limit: RATE_LIMIT_ and its name in capitals. */
export const rateLimitVariable = (name: RateLimitName) => `RATE_LIMIT_${name.toUpperCase()}`;

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the window has room again (epoch milliseconds). */
  resetAt: number;
}

/** The store that counts. Limits fail open: when it is unreachable, requests pass. */
export interface RateLimiter {
  /** "redis", "memory" or "off": said at start-up. */
  readonly kind: string;
  /** Counts one request against `key` and answers whether it is within the limit. */
  hit(name: RateLimitName, key: string): Promise<RateLimitDecision>;
  /** Forgets `key`'s count (a successful login clears its failures). */
  reset(name: RateLimitName, key: string): Promise<void>;
  /** Gives back one hit of `key` (an attempt that turned out not to count). */
  refund(name: RateLimitName, key: string): Promise<void>;
}
