import { PgTransaction } from "drizzle-orm/pg-core";
import type { PasswordHasher } from "../auth/password-hasher.ts";
import type { TokenMaker } from "../auth/token-maker.ts";
import type { Database, Transaction } from "../db/client.ts";
import { isRetryableTransactionError } from "../db/errors.ts";
import type { Clock } from "../domain/clock.ts";
import type { RateLimiter } from "../domain/rate-limits.ts";
import type { SessionRevocations } from "../domain/revocations.ts";
import type { TransferInput } from "../domain/transfers.ts";
import type { Actor, AuthenticatedActor, TransferResult } from "../domain/types.ts";
import type { GroupCommit } from "../lib/group-commit.ts";
import type { Logger } from "../lib/logger.ts";
import type { OutageLog } from "../lib/outage.ts";
import { sleep } from "../lib/sleep.ts";
import type { JobQueue } from "./jobs.ts";

/**
 * What the services are built from, once per process (Bun) or per isolate (Worker), and shared
 * by every request: the clock, tokens, passwords, the job queue, rate limits and the revocation
 * store.
 */
export interface Services {
  clock: Clock;
  tokens: TokenMaker;
  passwords: PasswordHasher;
  /** Milliseconds. */
  accessTokenDuration: number;
  /** Milliseconds: a session's lifetime; rotated refresh tokens never outlive it. */
  refreshTokenDuration: number;
  /**
   * Milliseconds after a rotation during which the retired refresh token still yields a fresh
   * pair instead of blocking the session (0: strict).
   */
  refreshTokenReuseInterval: number;
  jobs: JobQueue;
  limiter: RateLimiter;
  revocations: SessionRevocations;
  /** The process's (isolate's) record of database outages: one warning each, not one per 503. */
  databaseOutage: OutageLog;
  /** Concurrent transfers settled together, one transaction a group; absent: each on its own. */
  transferGroups?: TransferGroups;
}

/**
 * One call's context, built per request (or job, or command): the shared services plus the
 * call's own database handle and logger (whose lines carry the request id).
 */
export interface ServiceContext extends Services {
  /**
   * The process pool (Bun), this request's own client (Worker), or a transaction already open,
   * which `inTransaction` then joins instead of nesting a new one.
   */
  db: Database | Transaction;
  logger: Logger;
}

/** A context whose caller is known (ledger operations need only who and which role). */
export interface ActorContext extends ServiceContext {
  actor: Actor;
}

/** A transfer, validated, waiting for the transaction it will be settled in. */
export interface PendingTransfer {
  ctx: ActorContext;
  input: TransferInput;
}

export type TransferOutcome = { result: TransferResult; replayed: boolean };

/**
 * Transfers settled together (`createTransferGroups` in services/transfers.ts): the transfers
 * that arrive while one group is in its transaction wait and share the next one (one lock
 * statement, one set of writes, one commit), on the process's pool.
 */
export type TransferGroups = GroupCommit<PendingTransfer, TransferOutcome>;

/** A context whose caller proved a session with an access token. */
export interface SessionContext extends ServiceContext {
  actor: AuthenticatedActor;
}

/** How often a transaction that hit a serialization failure or deadlock is re-run in full. */
export const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs `work` in one database transaction (READ COMMITTED; correctness comes from explicit
 * row locks taken in ascending id order). Should Postgres still report a serialization
 * failure or a deadlock, the WHOLE transaction is re-run, a bounded number of times, so
 * neither can surface to a caller. When `ctx.db` is already a transaction, `work` runs in it
 * (its owner re-runs the whole). Inside `work`, use only `tx`.
 */
export async function inTransaction<T>(
  ctx: Pick<ServiceContext, "db" | "logger">,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const { db } = ctx;
  if (db instanceof PgTransaction) return work(db as Transaction);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryableTransactionError(error)) throw error;
      ctx.logger.warn("transaction conflict, retrying", { attempt, error });
      await sleep(Math.random() * 20 * attempt);
    }
  }
}
