import type { Redis } from "@upstash/redis";
import type { RevocationStatus, SessionRevocations } from "../domain/revocations.ts";
import type { RedisBreaker } from "./upstash.ts";

/**
 * The check reads both keys (an MGET), sent as a script on purpose: @upstash/redis
 * auto-pipelines reads (MGET) and writes (EVAL, EVALSHA) in SEPARATE batches, so a plain MGET
 * would cost a second HTTP round trip next to the rate limit's EVALSHA. As EVAL it joins the
 * rate limit's batch: revocation check + rate limit = one round trip.
 */
const CHECK_SCRIPT = "return redis.call('MGET', KEYS[1], KEYS[2])";

/** How often writes Redis refused are tried again. */
const RETRY_MS = 1_000;

/**
 * Revoked sessions and changed users in HTTP Redis, shared by every instance: a logout is
 * honoured everywhere at once. Entries live as long as an access token can (the TTL), after
 * which every token they could concern has expired anyway. One check is ONE round trip.
 *
 * A write Redis refuses (it is down) is not lost: the database row is blocked already, so
 * while Redis is down every instance's check falls back to the database and rejects the
 * session; but once Redis is back, instances ask Redis again, and a revocation that never
 * reached it would be honoured no more. So such writes are kept here, honoured by this
 * instance meanwhile, and sent again every second until they land (or outlive the TTL).
 */
export function createRedisRevocations(options: {
  redis: Redis;
  breaker: RedisBreaker;
  /** The access token lifetime. */
  ttlMs: number;
  prefix: string;
}): SessionRevocations {
  const { redis, breaker, ttlMs, prefix } = options;
  const sessionKey = (id: string) => `${prefix}revoked:${id}`;
  const userKey = (username: string) => `${prefix}user-changed:${username}`;

  /** Writes not in Redis yet: key → value, and until when it matters. */
  const pending = new Map<string, { value: number; until: number }>();
  let retry: ReturnType<typeof setTimeout> | undefined;
  const pendingValue = (key: string) => {
    const entry = pending.get(key);
    return entry && entry.until > Date.now() ? entry.value : null;
  };

  const retryLater = () => {
    retry ??= setTimeout(() => {
      retry = undefined;
      void flush("writing revocations again");
    }, RETRY_MS);
    // Never keeps the process alive on its own.
    retry.unref?.();
  };

  /** Sends every pending write (one pipeline); keeps them, and retries later, on failure. */
  const flush = async (what: string) => {
    const now = Date.now();
    const batch = [...pending].filter(([key, entry]) => {
      if (entry.until > now) return true;
      pending.delete(key);
      return false;
    });
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    for (const [key, entry] of batch) pipeline.set(key, entry.value, { px: entry.until - now });
    try {
      await pipeline.exec();
      for (const [key, entry] of batch) if (pending.get(key) === entry) pending.delete(key);
      breaker.succeeded();
    } catch (error) {
      breaker.failed(error, what);
      retryLater();
    }
  };

  const write = async (entries: [string, number][], what: string) => {
    const until = Date.now() + ttlMs;
    for (const [key, value] of entries) pending.set(key, { value, until });
    // While the breaker is open, do not make the caller wait for a failure: retry later.
    if (breaker.available()) await flush(what);
    else retryLater();
  };

  return {
    kind: "redis",
    async check(token) {
      if (pendingValue(sessionKey(token.sessionId)) !== null) return "revoked";
      if (!breaker.available()) return "unknown";
      try {
        const [revoked, changedAt] = await redis.eval<[], [unknown, unknown]>(
          CHECK_SCRIPT,
          [sessionKey(token.sessionId), userKey(token.username)],
          [],
        );
        breaker.succeeded();
        const changedHere = pendingValue(userKey(token.username));
        const changed =
          typeof changedAt === "number" ? Math.max(changedAt, changedHere ?? 0) : changedHere;
        return statusOf(revoked !== null, changed, token.issuedAt);
      } catch (error) {
        breaker.failed(error, "revocation check");
        return "unknown";
      }
    },
    async revokeSessions(sessionIds) {
      if (sessionIds.length === 0) return;
      await write(
        sessionIds.map((id) => [sessionKey(id), 1]),
        "revoking sessions",
      );
    },
    async markUserChanged(username) {
      await write([[userKey(username), Date.now()]], "marking a user changed");
    },
  };
}

function statusOf(revoked: boolean, changedAt: unknown, issuedAt: Date): RevocationStatus {
  if (revoked) return "revoked";
  if (typeof changedAt === "number" && issuedAt.getTime() < changedAt) return "stale";
  return "ok";
}
