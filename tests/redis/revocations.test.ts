import { afterAll, describe, expect, test } from "bun:test";
import type { SessionRevocations } from "../../src/core/domain/revocations.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { createRedisRevocations } from "../../src/core/redis/revocations.ts";
import { createRedisBreaker, createUpstashRedis } from "../../src/core/redis/upstash.ts";
import { databaseRevocations } from "../../src/core/services/revocations.ts";
import { poll } from "../support/poll.ts";
import { deleteKeys, directRedis, keyPrefix, startRedisRest } from "../support/redis.ts";

/**
 * The revocation stores: revoked sessions, and users whose tokens issued before a change must
 * be renewed, each remembered for the access token lifetime (the TTL): the HTTP Redis one
 * through the REST endpoint, real time. Without Redis the database decides every check (its
 * end-to-end tests are in tests/http/revocation.test.ts).
 */

const MINUTE = 60_000;

const token = (sessionId: string, username: string, issuedAt: number) => ({
  sessionId,
  username,
  issuedAt: new Date(issuedAt),
});

function sharedBehaviour(make: () => SessionRevocations) {
  test("a revoked session is 'revoked'; the user's other sessions stay 'ok'", async () => {
    const store = make();
    const now = Date.now();
    const s1 = crypto.randomUUID();
    const s2 = crypto.randomUUID();
    const s3 = crypto.randomUUID();
    expect(await store.check(token(s1, "alice", now))).toBe("ok");
    await store.revokeSessions([s1, s3]);
    expect(await store.check(token(s1, "alice", now))).toBe("revoked");
    expect(await store.check(token(s3, "alice", now))).toBe("revoked");
    expect(await store.check(token(s2, "alice", now))).toBe("ok");
    // Revoking nothing is a no-op.
    await store.revokeSessions([]);
    expect(await store.check(token(s2, "alice", now))).toBe("ok");
  });

  test("markUserChanged: tokens issued before are 'stale', after are 'ok'; other users 'ok'", async () => {
    const store = make();
    const session = crypto.randomUUID();
    const before = Date.now() - 1_000;
    await store.markUserChanged("bob");
    const after = Date.now() + 1_000;
    expect(await store.check(token(session, "bob", before))).toBe("stale");
    expect(await store.check(token(session, "bob", after))).toBe("ok");
    expect(await store.check(token(session, "carol", before))).toBe("ok");
  });

  test("a revoked session is 'revoked' even when its user also changed", async () => {
    const store = make();
    const session = crypto.randomUUID();
    await store.markUserChanged("dave");
    await store.revokeSessions([session]);
    expect(await store.check(token(session, "dave", Date.now() - 1_000))).toBe("revoked");
  });
}

describe("without Redis: the database is the store", () => {
  test("every check is 'unknown' (the database decides); writes have nothing to do", async () => {
    const session = crypto.randomUUID();
    await databaseRevocations.revokeSessions([session]);
    await databaseRevocations.markUserChanged("alice");
    expect(databaseRevocations.kind).toBe("database");
    expect(await databaseRevocations.check(token(session, "alice", Date.now() - 1_000))).toBe(
      "unknown",
    );
  });
});

const rest = startRedisRest();
const prefix = keyPrefix("revocations");

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("HTTP Redis revocations (REST endpoint in front of REDIS_URL)", () => {
  const make = (ttlMs = 15 * MINUTE, keys = prefix) => {
    if (!rest) throw new Error("REDIS_URL is unset");
    return createRedisRevocations({
      redis: createUpstashRedis({ url: rest.url, token: rest.token, autoPipelining: true }),
      breaker: createRedisBreaker(silentLogger),
      ttlMs,
      prefix: keys,
    });
  };

  sharedBehaviour(() => make());

  test("kind", () => {
    expect(make().kind).toBe("redis");
  });

  test("another store on the same Redis and prefix sees the revocation (another instance)", async () => {
    const a = make();
    const b = make();
    const session = crypto.randomUUID();
    const issued = Date.now() - 1_000;
    expect(await b.check(token(session, "gina", issued))).toBe("ok");
    await a.revokeSessions([session]);
    await a.markUserChanged("hank");
    expect(await b.check(token(session, "gina", issued))).toBe("revoked");
    expect(await b.check(token(crypto.randomUUID(), "hank", issued))).toBe("stale");
    // Another prefix (another deployment) does not.
    expect(await make(MINUTE, `${prefix}other:`).check(token(session, "gina", issued))).toBe("ok");
  });

  test("entries live as long as an access token (the TTL), read straight from Redis", async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    const keys = `${prefix}ttl:`;
    const store = make(15 * MINUTE, keys);
    const session = crypto.randomUUID();
    await store.revokeSessions([session]);
    await store.markUserChanged("judy");
    const redis = directRedis(rest.redisUrl);
    try {
      for (const key of [`${keys}revoked:${session}`, `${keys}user-changed:judy`]) {
        const ttl = Number(await redis.send("PTTL", [key]));
        expect(ttl).toBeGreaterThan(14 * MINUTE);
        expect(ttl).toBeLessThanOrEqual(15 * MINUTE);
      }
    } finally {
      redis.close();
    }
  });

  test("a write Redis refuses is honoured here at once, and reaches Redis when it is back", async () => {
    const own = startRedisRest();
    if (!own) throw new Error("REDIS_URL is unset");
    const keys = `${prefix}pending:`;
    try {
      const store = createRedisRevocations({
        redis: createUpstashRedis({ url: own.url, token: own.token, autoPipelining: true }),
        breaker: createRedisBreaker(silentLogger),
        ttlMs: 15 * MINUTE,
        prefix: keys,
      });
      // Another instance, whose own way to Redis works.
      const elsewhere = make(15 * MINUTE, keys);
      const session = crypto.randomUUID();
      const issued = Date.now() - 1_000;

      await own.pause();
      await store.revokeSessions([session]);
      await store.markUserChanged("kate");
      expect(await store.check(token(session, "x", issued))).toBe("revoked");
      // Anything else: this store cannot say (its callers ask the database).
      expect(await store.check(token(crypto.randomUUID(), "kate", issued))).toBe("unknown");
      expect(await elsewhere.check(token(session, "x", issued))).toBe("ok");

      await own.resume();
      await poll(
        "the revocation to reach Redis",
        async () => {
          return (await elsewhere.check(token(session, "x", issued))) === "revoked";
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(await elsewhere.check(token(crypto.randomUUID(), "kate", issued))).toBe("stale");
      expect(await store.check(token(crypto.randomUUID(), "kate", issued))).toBe("stale");
    } finally {
      await own.stop();
    }
  });

  test("entries expire after the TTL", async () => {
    const store = make(300);
    const session = crypto.randomUUID();
    const issued = Date.now() - 1_000;
    await store.revokeSessions([session]);
    await store.markUserChanged("ivan");
    expect(await store.check(token(session, "ivan", issued))).toBe("revoked");
    await poll(
      "the revocation to expire",
      async () => {
        return (await store.check(token(session, "x", issued))) === "ok";
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    await poll(
      "the change to expire",
      async () => {
        return (await store.check(token(crypto.randomUUID(), "ivan", issued))) === "ok";
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
  });
});
