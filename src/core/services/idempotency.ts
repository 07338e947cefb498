import { createHash } from "node:crypto";
import { and, eq, lt, or, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.ts";
import { idempotencyKeys } from "../db/schema.ts";
import { BusinessRuleError, ConflictError, type ValidationError } from "../domain/errors.ts";
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

/** What a claim found: the stored result to replay, or the key free and now held for this call. */
export type KeyClaim<T> =
  | { replayed: T }
  | { fingerprint: string }
  | { error: BusinessRuleError | ConflictError | ValidationError };

/**
 * Claims the keys of several calls in ONE round trip (one statement locks them all, the next
 * looks them all up), each with the rules above. Two calls of the same owner and key in one
 * group are as two concurrent requests: the later one answers 409 (a transaction's advisory
 * locks do not exclude each other, so that case is decided here).
 */
export async function claimIdempotencyKeys<T>(
  tx: Transaction,
  calls: IdempotentCall<T>[],
): Promise<KeyClaim<T>[]> {
  const claims: KeyClaim<T>[] = new Array(calls.length);
  const lockNames = new Set<string>();
  const checked: { index: number; call: IdempotentCall<T>; lockName: string }[] = [];
  calls.forEach((call, index) => {
    try {
      assertValid([["Idempotency-Key", idempotencyKeyRule, call.key]]);
    } catch (error) {
      claims[index] = { error: error as ValidationError };
      return;
    }
    const lockName = `idempotency:${call.owner}:${call.key}`;
    if (lockNames.has(lockName)) {
      claims[index] = { error: inProgress() };
      return;
    }
    lockNames.add(lockName);
    checked.push({ index, call, lockName });
  });
  if (checked.length === 0) return claims;

  // A transaction-scoped advisory lock marks a key as in flight: a concurrent request with the
  // same key does not wait for it but answers 409 at once. It is released at commit, after the
  // key row became visible, so a later retry always finds the stored result. The lookup is sent
  // with it (pipelined: the server runs it after the locks, on a snapshot taken then).
  const [locks, existing] = await Promise.all([
    tx.execute<{ position: number; locked: boolean }>(
      sql`select k.position, pg_try_advisory_xact_lock(hashtextextended(k.name, 0)) as locked from (values ${sql.join(
        checked.map(({ lockName }, position) => sql`(${lockName}::text, ${position}::int)`),
        sql`, `,
      )}) as k(name, position)`,
    ),
    tx
      .select()
      .from(idempotencyKeys)
      .where(
        or(
          ...checked.map(({ call }) =>
            and(eq(idempotencyKeys.owner, call.owner), eq(idempotencyKeys.key, call.key)),
          ),
        ),
      ),
  ]);
  const lockedAt = new Set(locks.filter((row) => row.locked).map((row) => Number(row.position)));
  checked.forEach(({ index, call }, position) => {
    if (!lockedAt.has(position)) {
      claims[index] = { error: inProgress() };
      return;
    }
    const fingerprint = fingerprintOf(call);
    const stored = existing.find((row) => row.owner === call.owner && row.key === call.key);
    if (!stored) claims[index] = { fingerprint };
    else if (stored.requestFingerprint !== fingerprint) {
      claims[index] = {
        error: new BusinessRuleError(
          "idempotency_key_reused",
          "this Idempotency-Key was already used for a different request",
        ),
      };
    } else claims[index] = { replayed: call.decode(stored.response) };
  });
  return claims;
}

/** Stores the results of claimed keys (one statement), in the transaction of their operations. */
export async function storeIdempotencyResults<T>(
  tx: Transaction,
  results: { call: IdempotentCall<T>; fingerprint: string; value: T }[],
): Promise<void> {
  if (results.length === 0) return;
  // The rows as ONE JSON parameter: the same statement text for any number of keys.
  await tx.execute(
    sql`insert into ${idempotencyKeys} (owner, key, request_fingerprint, response)
      select owner, key, request_fingerprint, response
      from json_to_recordset(${JSON.stringify(
        results.map(({ call, fingerprint, value }) => ({
          owner: call.owner,
          key: call.key,
          request_fingerprint: fingerprint,
          response: call.encode(value),
        })),
      )}::json) as r(owner text, key text, request_fingerprint text, response jsonb)`,
  );
}

/** One call: its key claimed, `run` run unless a result is replayed, the result stored. */
export async function withIdempotencyKey<T>(
  tx: Transaction,
  call: IdempotentCall<T>,
  run: () => Promise<T>,
): Promise<{ value: T; replayed: boolean }> {
  const [claim] = await claimIdempotencyKeys(tx, [call]);
  if (!claim) throw new Error("no claim for the key");
  if ("error" in claim) throw claim.error;
  if ("replayed" in claim) return { value: claim.replayed, replayed: true };
  const value = await run();
  await storeIdempotencyResults(tx, [{ call, fingerprint: claim.fingerprint, value }]);
  return { value, replayed: false };
}

function fingerprintOf(call: IdempotentCall<unknown>): string {
  return createHash("sha256")
    .update(JSON.stringify([call.operation, canonical(call.request)]))
    .digest("hex");
}

function inProgress(): ConflictError {
  return new ConflictError(
    "idempotency_in_progress",
    "a request with this Idempotency-Key is still being processed; retry shortly",
  );
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
