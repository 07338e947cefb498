import type { Context } from "hono";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { ConsoleAssets, DocsAssets, HttpDeps } from "../http/env.ts";
import type { Logger } from "../lib/logger.ts";
import { pingRedis } from "../redis/upstash.ts";
import type { Services } from "../services/context.ts";
import type { SharedStores } from "./services.ts";

/** The HTTP app's dependencies from the configuration and what the runtime's entry provides. */
export function buildHttpDeps(
  config: Config,
  parts: {
    services: Services;
    stores: SharedStores;
    logger: Logger;
    database: () => Database;
    connectionIp: (c: Context) => string | undefined;
    docsAssets: DocsAssets;
    consoleAssets: ConsoleAssets;
    /** True once the process began shutting down (Bun); readiness then fails. */
    shuttingDown?: () => boolean;
  },
): HttpDeps {
  const { redis } = parts.stores;
  return {
    services: parts.services,
    database: parts.database,
    logger: parts.logger,
    readiness: {
      pingRedis: redis ? () => pingRedis(redis) : undefined,
      shuttingDown: parts.shuttingDown,
    },
    production: config.nodeEnv === "production",
    allowedOrigins: config.allowedOrigins,
    trustProxyHops: config.trustProxyHops,
    connectionIp: parts.connectionIp,
    docsAssets: parts.docsAssets,
    consoleAssets: parts.consoleAssets,
  };
}
