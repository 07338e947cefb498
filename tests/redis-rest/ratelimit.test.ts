import { afterAll, describe, expect, test } from "bun:test";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { deleteKeys, keyPrefix, type RedisRest, startRedisRest } from "../support/redis.ts";

/**
 * @upstash/ratelimit runs its Lua scripts (all starting `#!lua flags=allow-key-locking`) with
 * EVALSHA, falling back to EVAL on NOSCRIPT. Windows are an hour long so a run never straddles
 * a window boundary; the ephemeral cache is off so every call reaches Redis.
 */

const rest = startRedisRest();
const prefix = keyPrefix("ratelimit");

function endpoint(): RedisRest {
  if (!rest) throw new Error("REDIS_URL is unset");
  return rest;
}

function limiter(algorithm: ConstructorParameters<typeof Ratelimit>[0]["limiter"], name: string) {
  return new Ratelimit({
    redis: new Redis({ url: endpoint().url, token: endpoint().token }),
    limiter: algorithm,
    prefix: `${prefix}${name}`,
    ephemeralCache: false,
  });
}

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("@upstash/ratelimit through the REST endpoint", () => {
  test("slidingWindow(5, 1 h) allows exactly 5, then rejects; remaining and reset are sane", async () => {
    const ratelimit = limiter(Ratelimit.slidingWindow(5, "1 h"), "sliding");
    const before = Date.now();
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await ratelimit.limit("user-1"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
    for (const result of results) {
      expect(result.limit).toBe(5);
      expect(result.reason).toBeUndefined(); // not "timeout": Redis answered
      expect(result.reset).toBeGreaterThan(before);
      expect(result.reset).toBeLessThanOrEqual(before + 60 * 60 * 1000);
      expect(result.reset % (60 * 60 * 1000)).toBe(0); // the end of the current window
    }
    // Identifiers are independent.
    expect((await ratelimit.limit("user-2")).success).toBe(true);
    expect((await ratelimit.getRemaining("user-1")).remaining).toBe(0);
    expect((await ratelimit.getRemaining("user-2")).remaining).toBe(4);
  });

  test("resetUsedTokens (another shebang script) lets the identifier through again", async () => {
    const ratelimit = limiter(Ratelimit.slidingWindow(1, "1 h"), "reset");
    expect((await ratelimit.limit("u")).success).toBe(true);
    expect((await ratelimit.limit("u")).success).toBe(false);
    await ratelimit.resetUsedTokens("u");
    expect((await ratelimit.limit("u")).success).toBe(true);
  });

  test("fixedWindow(3, 1 h) allows exactly 3", async () => {
    const ratelimit = limiter(Ratelimit.fixedWindow(3, "1 h"), "fixed");
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await ratelimit.limit("ip-1"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
  });

  test("tokenBucket(refill 1 per hour, max 3) allows 3, then rejects until the refill", async () => {
    const ratelimit = limiter(Ratelimit.tokenBucket(1, "1 h", 3), "bucket");
    const before = Date.now();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ratelimit.limit("key-1"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    const rejected = results[3];
    expect(rejected?.reset).toBeGreaterThan(before);
    expect(rejected?.reset).toBeLessThanOrEqual(Date.now() + 60 * 60 * 1000);
  });

  test("30 concurrent calls against a limit of 10: exactly 10 succeed (atomic scripts)", async () => {
    const ratelimit = limiter(Ratelimit.slidingWindow(10, "1 h"), "concurrent");
    const results = await Promise.all(Array.from({ length: 30 }, () => ratelimit.limit("burst")));
    expect(results.filter((r) => r.success)).toHaveLength(10);
    expect(results.every((r) => r.reason === undefined)).toBe(true);
  });
});
