/**
 * `bun run redis:rest`: an Upstash-compatible REST endpoint in front of a stock Redis, so
 * @upstash/redis and @upstash/ratelimit work in development and tests without Upstash.
 * Configuration: REDIS_URL, REDIS_REST_HOST, REDIS_REST_PORT, REDIS_REST_TOKEN, LOG_LEVEL
 * (see tools/redis-rest/config.ts).
 */

import { loadConfigOrExit, onShutdownSignal } from "../../src/bun/startup.ts";
import { loggerFor } from "../../src/core/lib/logger.ts";
import { DEVELOPMENT_REDIS_REST_TOKEN, loadRedisRestConfig } from "./config.ts";
import { createRedisRestHandler, DEFAULT_MAX_BODY_BYTES } from "./handler.ts";
import { RedisConnections } from "./redis-connections.ts";

const config = loadConfigOrExit(process.env, loadRedisRestConfig);
const logger = loggerFor(config);

try {
  const redis = new RedisConnections({ server: config.redis, logger });
  const handler = createRedisRestHandler({ redis, token: config.token, logger });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    // Above our own 1 MiB limit, so the handler answers 413 itself, in JSON.
    maxRequestBodySize: DEFAULT_MAX_BODY_BYTES * 2,
    fetch: handler,
  });
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  logger.info(`serving the Upstash-compatible REST API on ${url}`, {
    redis: redis.description,
    token:
      config.token === DEVELOPMENT_REDIS_REST_TOKEN
        ? `${DEVELOPMENT_REDIS_REST_TOKEN} (the development default)`
        : "from REDIS_REST_TOKEN",
  });

  // Say at once whether Redis answers; the endpoint keeps serving either way (503 meanwhile).
  redis.pipeline([["PING"]]).then(
    ([reply]) => {
      if (reply instanceof Error) {
        logger.warn("Redis answered PING with an error", { error: reply.message });
      }
    },
    (error: unknown) => {
      logger.warn("Redis is not reachable yet; requests answer 503 until it is", {
        redis: redis.description,
        error: error instanceof Error ? error.message : String(error),
      });
    },
  );

  onShutdownSignal(logger, async () => {
    await server.stop();
    redis.close();
  });
} catch (error) {
  logger.error("start-up failed", { error });
  process.exit(1);
}
