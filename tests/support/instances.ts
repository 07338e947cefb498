import { type Config, loadConfig } from "../../src/core/config/config.ts";
import { type AppType, createApp } from "../../src/core/http/app.ts";
import { pingRedis } from "../../src/core/redis/upstash.ts";
import { buildSharedStores, type SharedStores } from "../../src/core/wiring/services.ts";
import { type CallOptions, callOn, httpDepsFor, type Reply } from "./app.ts";
import { TEST_ENV, type TestContext, testContext, testDatabase } from "./database.ts";
import { captureLogs, type LogLine } from "./logs.ts";

/**
 * An "instance" of the API as a deployment runs it: its own configuration, its own shared
 * stores (its own Upstash client and breaker, or in-process stores), its own service deps, on
 * the run's database. Two instances with the same Redis and prefix behave like two servers
 * behind one load balancer. Requests carry their client IP in X-Forwarded-For (one trusted
 * proxy), so each test can be its own client.
 */

export interface Instance {
  app: AppType;
  config: Config;
  services: TestContext;
  stores: SharedStores;
  /** What the instance's services and stores logged. */
  logs: LogLine[];
  /** One request; `ip` becomes the client IP (X-Forwarded-For). */
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: CallOptions & { ip?: string },
  ): Promise<Reply<T>>;
}

export interface InstanceOptions {
  /** Variables on top of TEST_ENV (rate limits, …). */
  env?: Record<string, string>;
  /** The Upstash REST endpoint; absent: no Redis (in-process stores). */
  redis?: { url: string; token: string };
  /**
   * Redis key prefix, required with `redis` (instances sharing Redis and prefix share limits
   * and revocations); the test deletes its keys afterwards.
   */
  prefix?: string;
}

export async function startInstance(options: InstanceOptions = {}): Promise<Instance> {
  const database = await testDatabase();
  const config = loadConfig({
    ...TEST_ENV,
    ...options.env,
    ...(options.redis
      ? {
          UPSTASH_REDIS_REST_URL: options.redis.url,
          UPSTASH_REDIS_REST_TOKEN: options.redis.token,
          REDIS_KEY_PREFIX: options.prefix ?? "",
        }
      : {}),
  });
  if (options.redis && !options.prefix) {
    throw new Error("an instance on Redis needs a key prefix (keyPrefix(), deleted afterwards)");
  }
  const { logger, lines } = captureLogs();
  const stores = buildSharedStores(config, logger);
  const services = testContext(config, database.handle.db, {
    logger,
    jobs: database.jobs.queue,
    stores,
  });
  const { redis } = stores;
  const app = createApp(
    httpDepsFor(services, {
      trustProxyHops: 1,
      readiness: { pingRedis: redis ? () => pingRedis(redis) : undefined },
    }),
  );
  return {
    app,
    config,
    services,
    stores,
    logs: lines,
    request: (method, path, callOptions = {}) => requestOn(app, method, path, callOptions),
  };
}

/** `callOn` (tests/support/app.ts) with an optional client IP (X-Forwarded-For). */
function requestOn<T = Record<string, unknown>>(
  app: AppType,
  method: string,
  path: string,
  options: CallOptions & { ip?: string } = {},
): Promise<Reply<T>> {
  const { ip, ...rest } = options;
  const headers = ip ? { ...rest.headers, "X-Forwarded-For": ip } : rest.headers;
  return callOn<T>(app, method, path, { ...rest, headers });
}

let ipCounter = 0;

/** A client IP no other test of this process uses. */
export function uniqueIp(): string {
  ipCounter += 1;
  return `10.${process.pid % 250}.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}
