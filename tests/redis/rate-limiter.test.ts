import { afterAll, describe, expect, test } from "bun:test";
import type {
  RateLimitDecision,
  RateLimiter,
  RateLimitName,
  RateLimitRules,
} from "../../src/core/domain/rate-limits.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import {
  createMemoryRateLimiter,
  createRedisRateLimiter,
} from "../../src/core/redis/rate-limiter.ts";
import { createRedisBreaker, createUpstashRedis } from "../../src/core/redis/upstash.ts";
import { poll } from "../support/poll.ts";
import { deleteKeys, keyPrefix, startRedisRest } from "../support/redis.ts";

/**
 * Where `key` stands against limit `name`, leaving it as it was: one hit, given back when it
 * counted (what a "peek" would answer: `remaining` before the hit).
 */
async function standing(
  limiter: RateLimiter,
  name: RateLimitName,
  key: string,
): Promise<RateLimitDecision> {
  const decision = await limiter.hit(name, key);
  if (!decision.allowed) return decision;
  await limiter.refund(name, key);
  return { ...decision, remaining: decision.remaining + 1 };
}
/**
 * The rate limiter stores: sliding windows of `limit` requests. The in-process one with an
 * injected clock (exact answers at chosen instants); the HTTP Redis one (@upstash/ratelimit
 * through the REST endpoint, real time) must give the same answers.
 */

const SECOND = 1_000;
const HOUR = 3_600_000;

function rules(windowMs: number, limit = 5): RateLimitRules {
  const rule = { limit, windowMs };
  return {
    login_username: rule,
    login_ip: { limit: 2, windowMs },
    signup_ip: rule,
    resend_verification: rule,
    transfers: rule,
    password_reset_ip: rule,
    password_reset_email: rule,
  };
}

/** `times` hits; the `allowed` and `remaining` of each. */
async function hits(limiter: RateLimiter, key: string, times: number) {
  const answers: [boolean, number][] = [];
  for (let i = 0; i < times; i++) {
    const decision = await limiter.hit("transfers", key);
    answers.push([decision.allowed, decision.remaining]);
  }
  return answers;
}

const FIVE_THEN_REFUSED: [boolean, number][] = [
  [true, 4],
  [true, 3],
  [true, 2],
  [true, 1],
  [true, 0],
  [false, 0],
  [false, 0],
];

/** The answers both stores must give, whatever the clock (windows of an hour). */
function sharedBehaviour(make: () => RateLimiter) {
  test("exactly `limit` hits pass per window; then refused with remaining 0", async () => {
    const limiter = make();
    expect(await hits(limiter, "alice", 7)).toEqual(FIVE_THEN_REFUSED);
    const refused = await limiter.hit("transfers", "alice");
    expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    // Room again at the end of the window: the next hour boundary.
    expect(refused.resetAt).toBe(Math.ceil((Date.now() + 1) / HOUR) * HOUR);
  });

  test("keys and limits are counted apart", async () => {
    const limiter = make();
    await hits(limiter, "bob", 5);
    expect((await limiter.hit("transfers", "bob")).allowed).toBe(false);
    expect((await limiter.hit("transfers", "carol")).allowed).toBe(true);
    expect((await limiter.hit("signup_ip", "bob")).allowed).toBe(true);
    // Another limit with its own size.
    expect((await limiter.hit("login_ip", "bob")).remaining).toBe(1);
    expect((await limiter.hit("login_ip", "bob")).remaining).toBe(0);
    expect((await limiter.hit("login_ip", "bob")).allowed).toBe(false);
  });

  test("reset clears one key's count, no other", async () => {
    const limiter = make();
    await hits(limiter, "erin", 5);
    await hits(limiter, "frank", 5);
    await limiter.reset("transfers", "erin");
    expect(await standing(limiter, "transfers", "erin")).toMatchObject({
      allowed: true,
      remaining: 5,
    });
    expect(await hits(limiter, "erin", 7)).toEqual(FIVE_THEN_REFUSED);
    expect((await limiter.hit("transfers", "frank")).allowed).toBe(false);
  });

  test("refund gives one hit back", async () => {
    const limiter = make();
    await hits(limiter, "gina", 5);
    await limiter.refund("transfers", "gina");
    expect(await standing(limiter, "transfers", "gina")).toMatchObject({
      allowed: true,
      remaining: 1,
    });
    expect(await hits(limiter, "gina", 2)).toEqual([
      [true, 0],
      [false, 0],
    ]);
  });
}

describe("in-process rate limiter", () => {
  describe("with the real clock", () => {
    sharedBehaviour(() => createMemoryRateLimiter(rules(HOUR)));
    test("kind", () => {
      expect(createMemoryRateLimiter(rules(HOUR)).kind).toBe("memory");
    });
  });

  describe("sliding window (injected clock, windows of 1 s)", () => {
    let now = 0;
    const limiter = () => createMemoryRateLimiter(rules(SECOND), () => now);

    test("the previous window counts in proportion to how much of it still overlaps", async () => {
      const store = limiter();
      now = 100 * SECOND; // the start of a window
      expect(await hits(store, "k", 6)).toEqual(FIVE_THEN_REFUSED.slice(0, 6));
      expect((await store.hit("transfers", "k")).resetAt).toBe(101 * SECOND);

      // The next window has just begun: the previous 5 still count in full.
      now = 101 * SECOND;
      expect(await standing(store, "transfers", "k")).toMatchObject({
        allowed: false,
        remaining: 0,
      });
      // 20% in: 5 × 0.8 = 4 still count, room for 1.
      now = 101 * SECOND + 200;
      expect(await hits(store, "k", 2)).toEqual([
        [true, 0],
        [false, 0],
      ]);
      // Halfway: ⌊5 × 0.5⌋ = 2 plus this window's 1: room for 2.
      now = 101 * SECOND + 500;
      expect(await standing(store, "transfers", "k")).toMatchObject({
        allowed: true,
        remaining: 2,
      });
      expect(await hits(store, "k", 3)).toEqual([
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      // 90% in: ⌊5 × 0.1⌋ = 0 plus this window's 3: room for 2.
      now = 101 * SECOND + 900;
      expect(await standing(store, "transfers", "k")).toMatchObject({
        allowed: true,
        remaining: 2,
      });

      // Next window: the 3 of the window before count in full at its start.
      now = 102 * SECOND;
      expect(await standing(store, "transfers", "k")).toMatchObject({
        allowed: true,
        remaining: 2,
      });
      // Two idle windows later nothing counts any more.
      now = 104 * SECOND + 1;
      expect(await hits(store, "k", 6)).toEqual(FIVE_THEN_REFUSED.slice(0, 6));
    });

    test("a window that did not directly precede counts for nothing", async () => {
      const store = limiter();
      now = 200 * SECOND + 999;
      await hits(store, "k", 5);
      now = 202 * SECOND; // skipped window 201 entirely
      expect(await standing(store, "transfers", "k")).toMatchObject({
        allowed: true,
        remaining: 5,
      });
    });

    test("a refused hit is not counted", async () => {
      const store = limiter();
      now = 300 * SECOND;
      await hits(store, "k", 50); // 5 counted, 45 refused
      now = 301 * SECOND + 500; // ⌊5 × 0.5⌋ = 2
      expect(await standing(store, "transfers", "k")).toMatchObject({ remaining: 3 });
    });
  });
});

const rest = startRedisRest();
const prefix = keyPrefix("rate-limiter");

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("HTTP Redis rate limiter (REST endpoint in front of REDIS_URL)", () => {
  let instance = 0;
  const make = (windowMs: number) => {
    if (!rest) throw new Error("REDIS_URL is unset");
    instance += 1;
    return createRedisRateLimiter({
      redis: createUpstashRedis({ url: rest.url, token: rest.token, autoPipelining: true }),
      rules: rules(windowMs),
      breaker: createRedisBreaker(silentLogger),
      prefix: `${prefix}${instance}:`,
    });
  };

  sharedBehaviour(() => make(HOUR));

  test("kind", () => {
    expect(make(HOUR).kind).toBe("redis");
  });

  test("two limiters on the same Redis and prefix share the count", async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    const shared = `${prefix}shared:`;
    const [a, b] = [1, 2].map(() =>
      createRedisRateLimiter({
        redis: createUpstashRedis({ url: rest.url, token: rest.token, autoPipelining: true }),
        rules: rules(HOUR),
        breaker: createRedisBreaker(silentLogger),
        prefix: shared,
      }),
    ) as [RateLimiter, RateLimiter];
    await hits(a, "k", 3);
    expect(await hits(b, "k", 3)).toEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect((await standing(a, "transfers", "k")).allowed).toBe(false);
  });

  test("the window slides: after a full window, room comes back, first in part", async () => {
    const limiter = make(SECOND);
    // Fill the limit at the start of a window, so the next window's weighting is visible.
    await poll("the start of a 1 s window", () => Date.now() % SECOND < 300, {
      timeoutMs: 2_000,
      intervalMs: 5,
    });
    await hits(limiter, "k", 5);
    expect((await limiter.hit("transfers", "k")).allowed).toBe(false);
    let remaining = 0;
    await poll(
      "room in the window",
      async () => {
        remaining = (await standing(limiter, "transfers", "k")).remaining;
        return remaining > 0;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    // The previous window still counts in part when room first comes back.
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(5);
    expect((await limiter.hit("transfers", "k")).allowed).toBe(true);
  });
});
