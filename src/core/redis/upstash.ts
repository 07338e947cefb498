import { Redis } from "@upstash/redis";
import type { Logger } from "../lib/logger.ts";
import { createOutageLog } from "../lib/outage.ts";

/**
 * The HTTP Redis client (Upstash REST), and a breaker around it. Every caller treats Redis as
 * optional at run time: when it fails, rate limits fail open and revocation checks fall back to
 * the database. The breaker keeps that cheap during an outage: after a failure, calls are skipped
 * for a few seconds instead of each waiting for a timeout, and the log says so once per outage.
 */

/** How long one Redis call may take before it counts as a failure. */
const REQUEST_TIMEOUT_MS = 1_500;
/** How long calls are skipped after a failure. */
const COOL_DOWN_MS = 5_000;

export function createUpstashRedis(options: {
  url: string;
  token: string;
  /**
   * Calls issued in the same tick share one HTTP round trip (revocation check + rate limit).
   * Off on the edge: a batch would mix concurrent requests, and a Worker must not settle one
   * request's promises from another's I/O.
   */
  autoPipelining: boolean;
}): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    enableAutoPipelining: options.autoPipelining,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

export interface RedisBreaker {
  /** False while cooling down after a failure: skip Redis, use the fallback. */
  available(): boolean;
  failed(error: unknown, what: string): void;
  succeeded(): void;
}

export function createRedisBreaker(logger: Logger, now: () => number = Date.now): RedisBreaker {
  let downUntil = 0;
  // Expected and handled (the fallbacks): one warning per outage with the reason, no stack.
  const outage = createOutageLog({
    logger,
    subject: "Redis",
    meanwhile: "rate limits fail open and revocation checks use the database",
    now,
  });
  return {
    available: () => now() >= downUntil,
    failed(error, what) {
      downUntil = now() + COOL_DOWN_MS;
      outage.down(error, { while: what });
    },
    succeeded() {
      // Any answer proves Redis reachable: stop skipping it at once.
      downUntil = 0;
      outage.up();
    },
  };
}

/** Readiness: does Redis answer PING (bypassing the breaker)? */
export async function pingRedis(redis: Redis): Promise<boolean> {
  try {
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  }
}
