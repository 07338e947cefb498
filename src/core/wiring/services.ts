import type { Redis } from "@upstash/redis";
import { type Bcrypt, createPasswordHasher } from "../auth/password.ts";
import { createTokenMaker } from "../auth/tokens.ts";
import type { Config } from "../config/config.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import type { RateLimiter } from "../domain/rate-limits.ts";
import type { SessionRevocations } from "../domain/revocations.ts";
import type { Logger } from "../lib/logger.ts";
import { createOutageLog, type OutageLog } from "../lib/outage.ts";
import { createMemoryRateLimiter, createRedisRateLimiter } from "../redis/rate-limiter.ts";
import { createRedisRevocations } from "../redis/revocations.ts";
import { createRedisBreaker, createUpstashRedis } from "../redis/upstash.ts";
import type { Services } from "../services/context.ts";
import { type JobQueue, noJobs } from "../services/jobs.ts";
import { noRateLimits } from "../services/rate-limits.ts";
import { databaseRevocations } from "../services/revocations.ts";
import { createTransferGroups } from "../services/transfers.ts";

/**
 * The stores every instance shares: HTTP Redis when configured. Without it, revocations are
 * read from the database (every instance still agrees) and rate limits count in this process
 * (or isolate) only.
 */
export interface SharedStores {
  /** The Redis client when configured (readiness pings it). */
  redis: Redis | undefined;
  limiter: RateLimiter;
  revocations: SessionRevocations;
}

export function buildSharedStores(
  config: Config,
  logger: Logger,
  options: { redisAutoPipelining?: boolean } = {},
): SharedStores {
  const { rules } = config.rateLimits;
  if (!config.redis) {
    logger.warn(
      "no Redis configured (UPSTASH_REDIS_REST_URL): token revocations are read from the database; rate limits count in this process only, which suits a single instance",
    );
    return {
      redis: undefined,
      limiter: config.rateLimits.enabled ? createMemoryRateLimiter(rules) : noRateLimits,
      revocations: databaseRevocations,
    };
  }
  const redis = createUpstashRedis({
    url: config.redis.url,
    token: config.redis.token,
    autoPipelining: options.redisAutoPipelining ?? true,
  });
  const breaker = createRedisBreaker(logger);
  const prefix = config.redis.keyPrefix;
  return {
    redis,
    limiter: config.rateLimits.enabled
      ? createRedisRateLimiter({ redis, rules, breaker, prefix })
      : noRateLimits,
    revocations: createRedisRevocations({
      redis,
      breaker,
      ttlMs: config.accessTokenDuration,
      prefix,
    }),
  };
}

/**
 * The services' shared dependencies, built once per process (Bun) or isolate (Worker) from the
 * configuration. The database handle and the logger are per call (see ServiceContext).
 */
export function buildServices(
  config: Config,
  parts: {
    logger: Logger;
    jobs?: JobQueue;
    clock?: Clock;
    stores?: SharedStores;
    /** A native bcrypt the runtime offers (Bun.password); default: the pure-JS one. */
    bcrypt?: Bcrypt;
    /** Shared with the job queue where one runs (default: one of the services' own). */
    databaseOutage?: OutageLog;
  },
): Services {
  const clock = parts.clock ?? systemClock;
  const stores = parts.stores ?? buildSharedStores(config, parts.logger);
  return {
    clock,
    tokens: createTokenMaker({
      kind: config.tokenType,
      symmetricKey: config.tokenSymmetricKey,
      clock,
    }),
    passwords: createPasswordHasher({ cost: config.bcryptCost, bcrypt: parts.bcrypt }),
    accessTokenDuration: config.accessTokenDuration,
    refreshTokenDuration: config.refreshTokenDuration,
    refreshTokenReuseInterval: config.refreshTokenReuseInterval,
    jobs: parts.jobs ?? noJobs,
    limiter: stores.limiter,
    revocations: stores.revocations,
    databaseOutage: parts.databaseOutage ?? databaseOutageLog(parts.logger),
    transferGroups:
      config.transferGroupMax > 1 ? createTransferGroups(config.transferGroupMax) : undefined,
  };
}

/**
 * The database's outage log: one warning when it goes down, one line when it is back (the
 * first success of `probe`, every second during an outage, or of a readiness check).
 */
export function databaseOutageLog(logger: Logger, probe?: () => Promise<unknown>): OutageLog {
  return createOutageLog({
    logger,
    subject: "the database",
    meanwhile: "requests that need it answer 503 with Retry-After until it is back",
    probe,
  });
}
