import { RateLimitedError } from "../domain/errors.ts";
import type { RateLimitDecision, RateLimiter, RateLimitName } from "../domain/rate-limits.ts";

/**
 * Rate limits, the policy half: which limit guards which operation, and how a service enforces
 * one. The limits themselves are named in domain/rate-limits.ts.
 */

/**
 * Operations limited per caller as the caller is authenticated (the count rides on the same
 * Redis round trip as the revocation check): a transport names the operation, this table says
 * which limit guards it. Signups and logins are limited inside their own services.
 */
export const OPERATION_LIMITS = {
  transfer: "transfers",
  resend_verification: "resend_verification",
} as const satisfies Record<string, RateLimitName>;

export type LimitedOperation = keyof typeof OPERATION_LIMITS;

/** Throws 429 `rate_limited` for a decision over the limit. */
export function assertAllowed(decision: RateLimitDecision, now: Date): void {
  if (decision.allowed) return;
  const seconds = Math.max(1, Math.ceil((decision.resetAt - now.getTime()) / 1000));
  throw new RateLimitedError(seconds, decision.limit, `too many requests; retry in ${seconds} s`);
}

/** Nothing to reset or give back when nothing is counted. */
const nothingCounted = async (): Promise<void> => {};

/** RATE_LIMIT_ENABLED=false (load tests): everything passes. */
export const noRateLimits: RateLimiter = {
  kind: "off",
  async hit() {
    return { allowed: true, limit: 0, remaining: 0, resetAt: 0 };
  },
  reset: nothingCounted,
  refund: nothingCounted,
};
