import type { PasswordHasher } from "../auth/password-hasher.ts";
import type { TokenMaker } from "../auth/token-maker.ts";
import type { Database, Transaction } from "../db/client.ts";
import { isRetryableTransactionError } from "../db/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { JobQueue } from "./jobs.ts";
import type { RateLimiter } from "./rate-limits.ts";
import type { SessionRevocations } from "./revocations.ts";

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What every service function needs, built once at start-up and passed in. */
export interface ServiceDeps {
  db: Database;
  logger: Logger;
  clock: Clock;
}

/**
 * What the user and session services need on top: tokens, passwords, jobs, rate limits and
 * the revocation store.
 */
export interface AuthDeps extends ServiceDeps {
  tokens: TokenMaker;
  passwords: PasswordHasher;
  /** Milliseconds. */
  accessTokenDuration: number;
  /** Milliseconds: a session's lifetime; rotated refresh tokens never outlive it. */
  refreshTokenDuration: number;
  jobs: JobQueue;
  limiter: RateLimiter;
  revocations: SessionRevocations;
}

/** How often a transaction that hit a serialization failure or deadlock is re-run in full. */
export const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs `work` in one database transaction (READ COMMITTED; correctness comes from explicit
 * row locks taken in ascending id order). Should Postgres still report a serialization
 * failure or a deadlock, the WHOLE transaction is re-run, a bounded number of times, so
 * neither can surface to a caller. Inside `work`, use only `tx`.
 */
export async function inTransaction<T>(
  deps: Pick<ServiceDeps, "db" | "logger">,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.transaction(work);
    } catch (error) {
      if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryableTransactionError(error)) throw error;
      deps.logger.warn("transaction conflict, retrying", { attempt, error });
      await Bun.sleep(Math.random() * 20 * attempt);
    }
  }
}
