import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type {
  RateLimitDecision,
  RateLimiter,
  RateLimitName,
  RateLimitRules,
} from "../domain/rate-limits.ts";
import type { RedisBreaker } from "./upstash.ts";

/** Sliding-window limits in HTTP Redis (@upstash/ratelimit), shared by every instance. */
export function createRedisRateLimiter(options: {
  redis: Redis;
  rules: RateLimitRules;
  breaker: RedisBreaker;
  /** Namespaces the keys (per deployment; tests use one per run). */
  prefix: string;
}): RateLimiter {
  const { breaker } = options;
  const limiters = new Map<RateLimitName, Ratelimit>();
  for (const [name, rule] of Object.entries(options.rules) as [
    RateLimitName,
    RateLimitRules[RateLimitName],
  ][]) {
    limiters.set(
      name,
      new Ratelimit({
        redis: options.redis,
        limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowMs} ms`),
        prefix: `${options.prefix}rl:${name}`,
        ephemeralCache: false,
        analytics: false,
        timeout: 2_000,
      }),
    );
  }
  const limiterFor = (name: RateLimitName) => {
    const limiter = limiters.get(name);
    if (!limiter) throw new Error(`no rate limit named ${name}`);
    return limiter;
  };
  const open = (name: RateLimitName): RateLimitDecision => ({
    allowed: true,
    limit: options.rules[name].limit,
    remaining: options.rules[name].limit,
    resetAt: 0,
  });

  return {
    kind: "redis",
    async hit(name, key) {
      if (!breaker.available()) return open(name);
      try {
        const result = await limiterFor(name).limit(key);
        if (result.reason === "timeout") {
          breaker.failed(new Error("rate limit timed out"), `rate limit ${name}`);
          return open(name);
        }
        breaker.succeeded();
        return {
          allowed: result.success,
          limit: result.limit,
          remaining: result.remaining,
          resetAt: result.reset,
        };
      } catch (error) {
        breaker.failed(error, `rate limit ${name}`);
        return open(name);
      }
    },
    async reset(name, key) {
      if (!breaker.available()) return;
      try {
        await limiterFor(name).resetUsedTokens(key);
        breaker.succeeded();
      } catch (error) {
        breaker.failed(error, `rate limit ${name}`);
      }
    },
    async refund(name, key) {
      if (!breaker.available()) return;
      try {
        // A negative rate gives tokens back (the script decrements the current window).
        await limiterFor(name).limit(key, { rate: -1 });
        breaker.succeeded();
      } catch (error) {
        breaker.failed(error, `rate limit ${name}`);
      }
    },
  };
}

/**
 * The same sliding windows in this process's memory: for a single instance without Redis
 * (development). Two fixed windows, the previous one weighted by how much of it still overlaps,
 * as @upstash/ratelimit computes it.
 */
export function createMemoryRateLimiter(
  rules: RateLimitRules,
  now: () => number = Date.now,
): RateLimiter {
  const windows = new Map<string, { start: number; count: number; previous: number }>();

  const windowOf = (name: RateLimitName, key: string) => {
    const { windowMs } = rules[name];
    const time = now();
    const start = Math.floor(time / windowMs) * windowMs;
    const id = `${name}\u0000${key}`;
    let entry = windows.get(id);
    if (!entry || entry.start !== start) {
      const previous = entry && entry.start === start - windowMs ? entry.count : 0;
      entry = { start, count: 0, previous };
      windows.set(id, entry);
      if (windows.size > 100_000) prune(time);
    }
    const overlap = 1 - (time - start) / windowMs;
    // Rounded down, as @upstash/ratelimit's script does: both stores give the same answers.
    const used = Math.floor(entry.previous * overlap) + entry.count;
    return { entry, used, resetAt: start + windowMs };
  };

  const prune = (time: number) => {
    for (const [id, entry] of windows) {
      const name = id.slice(0, id.indexOf("\u0000")) as RateLimitName;
      if (entry.start + 2 * (rules[name]?.windowMs ?? 0) < time) windows.delete(id);
    }
  };

  return {
    kind: "memory",
    async hit(name, key) {
      const { limit } = rules[name];
      const { entry, used, resetAt } = windowOf(name, key);
      const allowed = used + 1 <= limit;
      if (allowed) entry.count += 1;
      const remaining = Math.max(0, limit - used - (allowed ? 1 : 0));
      return { allowed, limit, remaining, resetAt };
    },
    async reset(name, key) {
      windows.delete(`${name}\u0000${key}`);
    },
    async refund(name, key) {
      // As @upstash/ratelimit does: the current window's count goes down by one.
      windowOf(name, key).entry.count -= 1;
    },
  };
}
