import type { Context } from "hono";
import { type Config, ConfigError, loadConfig } from "../core/config/config.ts";
import { openDatabase } from "../core/db/client.ts";
import { createApp } from "../core/http/app.ts";
import { createUnavailableApp } from "../core/http/unavailable-app.ts";
import { createAttachedJobQueue } from "../core/jobs/boss.ts";
import { createLogger, loggerFor } from "../core/lib/logger.ts";
import { buildHttpDeps } from "../core/wiring/http.ts";
import { buildMailer } from "../core/wiring/mailer.ts";
import { buildServices, buildSharedStores } from "../core/wiring/services.ts";
import { consoleAssets } from "./console-assets.ts";
import { runDueJobs } from "./cron.ts";
import { docsAssets } from "./docs-assets.ts";
import { type EdgeEnv, variablesOf } from "./environment.ts";

/** The bank in one Worker isolate: built at its first event, kept for the isolate's life. */
export interface EdgeBank {
  fetch(request: Request): Response | Promise<Response>;
  /** The Cron Trigger: sends the due jobs. */
  scheduled(): Promise<void>;
}

/**
 * Connections of one request's (or Cron invocation's) own postgres.js client. A request's
 * queries run one after another, so one connection is what it uses; a few more only when a
 * request overlaps its own queries. Prepared statements stay on (Hyperdrive caches them).
 */
const CONNECTIONS_PER_REQUEST = 5;

let bank: EdgeBank | undefined;

/** The isolate's bank; its configuration is parsed once, from the first event's `env`. */
export function bankFor(env: EdgeEnv): EdgeBank {
  bank ??= buildBank(env);
  return bank;
}

function buildBank(env: EdgeEnv): EdgeBank {
  let config: Config;
  try {
    config = edgeConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return misconfiguredBank(error);
  }
  const logger = loggerFor(config);
  const databaseUrl = config.databaseUrl ?? "";
  // A client per request: a Worker cannot share sockets between requests. Never ended on the
  // response path (porsager/postgres#1202): the runtime closes its sockets with the request.
  const openRequestDatabase = () =>
    openDatabase({
      url: databaseUrl,
      poolMax: CONNECTIONS_PER_REQUEST,
      applicationName: "simplebank-edge",
      fetchTypes: false,
    });
  const stores = buildSharedStores(config, logger, { redisAutoPipelining: false });
  const services = buildServices(config, {
    logger,
    stores,
    jobs: createAttachedJobQueue(logger),
  });
  const app = createApp(
    buildHttpDeps(config, {
      services,
      stores,
      logger,
      database: () => openRequestDatabase().db,
      connectionIp: cloudflareConnectionIp,
      docsAssets,
      consoleAssets,
    }),
  );
  const mailer = buildMailer(config, logger);
  logger.info("edge isolate ready", {
    env: config.nodeEnv,
    database: env.HYPERDRIVE ? "Hyperdrive" : "DATABASE_URL",
    tokens: config.tokenType,
    redis: stores.redis ? "HTTP Redis" : "none",
    mailer: mailer.kind,
  });
  return {
    fetch: (request) => app.fetch(request),
    async scheduled() {
      await runDueJobs({
        database: openRequestDatabase(),
        logger,
        mailer,
        appBaseUrl: config.email.appBaseUrl,
        concurrency: config.workerConcurrency,
      });
    },
  };
}

/** The Bun server's configuration schema over the Worker's env; the edge has no embedded database. */
function edgeConfig(env: EdgeEnv): Config {
  const config = loadConfig(variablesOf(env));
  if (!config.databaseUrl) {
    throw new ConfigError([
      {
        variable: "DATABASE_URL",
        message: "is required on the edge: bind Hyperdrive as HYPERDRIVE, or set DATABASE_URL",
      },
    ]);
  }
  return config;
}

/** Fails closed: every request answers 503, and the log names every bad variable. */
function misconfiguredBank(error: ConfigError): EdgeBank {
  const logger = createLogger({ level: "info", format: "json" });
  const problems = error.problems;
  logger.error("invalid configuration: every request answers 503 until it is fixed", {
    problems,
  });
  const app = createUnavailableApp("the service is misconfigured; its log says how");
  return {
    fetch: (request) => app.fetch(request),
    async scheduled() {
      logger.error("invalid configuration: the Cron Trigger sends nothing", { problems });
    },
  };
}

/** Cloudflare's own record of the client's address (clients cannot set it through Cloudflare). */
function cloudflareConnectionIp(c: Context): string | undefined {
  return c.req.header("CF-Connecting-IP");
}
