import { createHash } from "node:crypto";
import { and, eq, lt, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.ts";
import { idempotencyKeys } from "../db/schema.ts";
import { BusinessRuleError, ConflictError } from "../domain/errors.ts";
import { idempotencyKeyRule } from "../domain/idempotency.ts";
import type { ServiceContext } from "./context.ts";
import { assertValid } from "./validation.ts";

/**
 * Idempotency keys (IETF draft "The Idempotency-Key HTTP Header Field"), kept in Postgres and
 * written in the same transaction as the operation they protect:
 * - same owner, key and request: the stored result is replayed, nothing runs twice;
 * - same owner and key, different request: 422 `idempotency_key_reused`;
 * - same owner and key while the first request is still running: 409 `idempotency_in_progress`.
 * Only successful results are stored: a request that failed (say, insufficient funds) rolled
 * back entirely, so retrying it with the same key runs it afresh.
 */

/** How long keys are honoured at least; `pruneIdempotencyKeys` removes older ones. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotentCall<T> {
  owner: string;
  key: string;
  /** Operation name and its request: two calls match only if both are equal. */
  operation: string;
  request: Record<string, unknown>;
  encode(value: T): unknown;
  decode(stored: unknown): T;
}

export async function withIdempotencyKey<T>(
  tx: Transaction,
  call: IdempotentCall<T>,
  run: () => Promise<T>,
): Promise<{ value: T; replayed: boolean }> {
  assertValid([["Idempotency-Key", idempotencyKeyRule, call.key]]);
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([call.operation, canonical(call.request)]))
    .digest("hex");

  // A transaction-scoped advisory lock marks the key as in flight: a concurrent request with
  // the same key does not wait for it but answers 409 at once. It is released at commit, after
  // the key row became visible, so a later retry always finds the stored result. The lookup is
  // sent with it (pipelined: the server runs it after the lock, on a snapshot taken then).
  const [[lock], [existing]] = await Promise.all([
    tx.execute<{ locked: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtextextended(${`idempotency:${call.owner}:${call.key}`}, 0)) as locked`,
    ),
    tx
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.owner, call.owner), eq(idempotencyKeys.key, call.key))),
  ]);
  if (!lock?.locked) {
    throw new ConflictError(
      "idempotency_in_progress",
      "a request with this Idempotency-Key is still being processed; retry shortly",
    );
  }

  if (existing) {
    if (existing.requestFingerprint !== fingerprint) {
      throw new BusinessRuleError(
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request",
      );
    }
    return { value: call.decode(existing.response), replayed: true };
  }

  const value = await run();
  await tx.insert(idempotencyKeys).values({
    owner: call.owner,
    key: call.key,
    requestFingerprint: fingerprint,
    response: call.encode(value),
  });
  return { value, replayed: false };
}

/** Deletes keys older than the TTL; returns how many. */
export async function pruneIdempotencyKeys(
  ctx: Pick<ServiceContext, "db" | "clock">,
): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const deleted = await ctx.db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, cutoff))
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}

/** JSON with object keys sorted, so equal requests always hash alike. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
