import type { RateLimitRule } from "../config/config.ts";
import { RateLimitedError } from "../domain/errors.ts";

/**
 * Rate limits (sliding windows), the policy half: which limits exist and how a service
 * enforces one. The store behind them (HTTP Redis, or in-process) is a `RateLimiter`.
 * Limits fail open: when the store is unreachable, requests pass (and that is logged).
 */
export const RATE_LIMITS = [
  /** Failed logins per username. */
  "login_username",
  /** Failed logins per client IP. */
  "login_ip",
  /** Registrations per client IP. */
  "signup_ip",
  /** Verification emails asked for again, per user. */
  "resend_verification",
  /** Transfers per user. */
  "transfers",
] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];
export type RateLimitRules = Record<RateLimitName, RateLimitRule>;

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the window has room again (epoch milliseconds). */
  resetAt: number;
}

export interface RateLimiter {
  /** "redis", "memory" or "off": said at start-up. */
  readonly kind: string;
  /** Counts one request against `key` and answers whether it is within the limit. */
  hit(name: RateLimitName, key: string): Promise<RateLimitDecision>;
  /** Answers whether `key` is within the limit, without counting. */
  peek(name: RateLimitName, key: string): Promise<RateLimitDecision>;
  /** Forgets `key`'s count (a successful login clears its failures). */
  reset(name: RateLimitName, key: string): Promise<void>;
  /** Gives back one hit of `key` (an attempt that turned out not to count). */
  refund(name: RateLimitName, key: string): Promise<void>;
}

/** Throws 429 `rate_limited` for a decision over the limit. */
export function assertAllowed(decision: RateLimitDecision, now: Date): void {
  if (decision.allowed) return;
  const seconds = Math.max(1, Math.ceil((decision.resetAt - now.getTime()) / 1000));
  throw new RateLimitedError(seconds, decision.limit, `too many requests; retry in ${seconds} s`);
}

/** RATE_LIMIT_ENABLED=false (load tests): everything passes. */
export const noRateLimits: RateLimiter = {
  kind: "off",
  async hit() {
    return { allowed: true, limit: 0, remaining: 0, resetAt: 0 };
  },
  async peek() {
    return { allowed: true, limit: 0, remaining: 0, resetAt: 0 };
  },
  async reset() {},
  async refund() {},
};
