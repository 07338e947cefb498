import type { Redis } from "@upstash/redis";
import type { RevocationStatus, SessionRevocations } from "../services/revocations.ts";
import type { RedisBreaker } from "./upstash.ts";

/**
 * Revoked sessions and changed users in HTTP Redis, shared by every instance: a logout is
 * honoured everywhere at once. Entries live as long as an access token can (the TTL), after
 * which every token they could concern has expired anyway. One check is ONE round trip.
 */
/**
 * The check reads both keys (an MGET), sent as a script on purpose: @upstash/redis
 * auto-pipelines reads (MGET) and writes (EVAL, EVALSHA) in SEPARATE batches, so a plain MGET
 * would cost a second HTTP round trip next to the rate limit's EVALSHA. As EVAL it joins the
 * rate limit's batch: revocation check + rate limit = one round trip.
 */
const CHECK_SCRIPT = "return redis.call('MGET', KEYS[1], KEYS[2])";

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
  return {
    kind: "redis",
    async check(token) {
      if (!breaker.available()) return "unknown";
      try {
        const [revoked, changedAt] = await redis.eval<[], [unknown, unknown]>(
          CHECK_SCRIPT,
          [sessionKey(token.sessionId), userKey(token.username)],
          [],
        );
        breaker.succeeded();
        return statusOf(revoked !== null, changedAt, token.issuedAt);
      } catch (error) {
        breaker.failed(error, "revocation check");
        return "unknown";
      }
    },
    async revokeSessions(sessionIds) {
      if (sessionIds.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of sessionIds) pipeline.set(sessionKey(id), 1, { px: ttlMs });
      try {
        await pipeline.exec();
        breaker.succeeded();
      } catch (error) {
        // The database row is blocked already: renewals fail everywhere, and instances whose
        // Redis is down check the database. Only an instance that reaches Redis would still
        // honour the session's access tokens until they expire.
        breaker.failed(error, "revoking sessions");
      }
    },
    async markUserChanged(username) {
      try {
        await redis.set(userKey(username), Date.now(), { px: ttlMs });
        breaker.succeeded();
      } catch (error) {
        breaker.failed(error, "marking a user changed");
      }
    },
  };
}

/** The same in this process's memory: a single instance without Redis (development). */
export function createMemoryRevocations(options: {
  ttlMs: number;
  now?: () => number;
}): SessionRevocations {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, number>();
  const users = new Map<string, { at: number; until: number }>();
  const prune = () => {
    const time = now();
    for (const [id, until] of sessions) if (until < time) sessions.delete(id);
    for (const [name, entry] of users) if (entry.until < time) users.delete(name);
  };
  return {
    kind: "memory",
    async check(token) {
      const time = now();
      const revokedUntil = sessions.get(token.sessionId);
      const changed = users.get(token.username);
      return statusOf(
        revokedUntil !== undefined && revokedUntil >= time,
        changed && changed.until >= time ? changed.at : null,
        token.issuedAt,
      );
    },
    async revokeSessions(sessionIds) {
      if (sessions.size > 100_000) prune();
      for (const id of sessionIds) sessions.set(id, now() + options.ttlMs);
    },
    async markUserChanged(username) {
      users.set(username, { at: now(), until: now() + options.ttlMs });
    },
  };
}

function statusOf(revoked: boolean, changedAt: unknown, issuedAt: Date): RevocationStatus {
  if (revoked) return "revoked";
  if (typeof changedAt === "number" && issuedAt.getTime() < changedAt) return "stale";
  return "ok";
}
