import type { Redis } from "@upstash/redis";
import { createPasswordHasher } from "../auth/password.ts";
import { createTokenMaker } from "../auth/tokens.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { Logger } from "../lib/logger.ts";
import { createMemoryRateLimiter, createRedisRateLimiter } from "../redis/rate-limiter.ts";
import { createMemoryRevocations, createRedisRevocations } from "../redis/revocations.ts";
import { createRedisBreaker, createUpstashRedis } from "../redis/upstash.ts";
import { type AuthDeps, type Clock, systemClock } from "../services/context.ts";
import { type JobQueue, noJobs } from "../services/jobs.ts";
import { noRateLimits, type RateLimiter, type RateLimitRules } from "../services/rate-limits.ts";
import type { SessionRevocations } from "../services/revocations.ts";

/** The stores shared by every instance: HTTP Redis when configured, else this process. */
export interface SharedStores {
  /** The Redis client when configured (readiness pings it). */
  redis: Redis | undefined;
  limiter: RateLimiter;
  revocations: SessionRevocations;
}

/** Redis keys start with this (tests use one prefix per run). */
export const DEFAULT_REDIS_PREFIX = "simplebank:";

export function rateLimitRules(config: Config): RateLimitRules {
  const limits = config.rateLimits;
  return {
    login_username: limits.loginPerUsername,
    login_ip: limits.loginPerIp,
    signup_ip: limits.signupPerIp,
    resend_verification: limits.resendVerificationPerUser,
    transfers: limits.transfersPerUser,
  };
}

export function buildSharedStores(
  config: Config,
  logger: Logger,
  options: { prefix?: string } = {},
): SharedStores {
  const rules = rateLimitRules(config);
  const ttlMs = config.accessTokenDuration;
  if (!config.redis) {
    logger.warn(
      "no Redis configured (UPSTASH_REDIS_REST_URL): rate limits and token revocations use in-process stores, which only suit a single instance",
    );
    return {
      redis: undefined,
      limiter: config.rateLimits.enabled ? createMemoryRateLimiter(rules) : noRateLimits,
      revocations: createMemoryRevocations({ ttlMs }),
    };
  }
  const redis = createUpstashRedis(config.redis);
  const breaker = createRedisBreaker(logger);
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  return {
    redis,
    limiter: config.rateLimits.enabled
      ? createRedisRateLimiter({ redis, rules, breaker, prefix })
      : noRateLimits,
    revocations: createRedisRevocations({ redis, breaker, ttlMs, prefix }),
  };
}

/** The services' dependencies, built once at start-up from the configuration. */
export function buildServiceDeps(
  config: Config,
  parts: {
    db: Database;
    logger: Logger;
    jobs?: JobQueue;
    clock?: Clock;
    stores?: SharedStores;
  },
): AuthDeps {
  const clock = parts.clock ?? systemClock;
  const stores = parts.stores ?? buildSharedStores(config, parts.logger);
  return {
    db: parts.db,
    logger: parts.logger,
    clock,
    tokens: createTokenMaker({
      kind: config.tokenType,
      symmetricKey: config.tokenSymmetricKey,
      clock,
    }),
    passwords: createPasswordHasher({ cost: config.bcryptCost }),
    accessTokenDuration: config.accessTokenDuration,
    refreshTokenDuration: config.refreshTokenDuration,
    jobs: parts.jobs ?? noJobs,
    limiter: stores.limiter,
    revocations: stores.revocations,
  };
}
