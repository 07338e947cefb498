/**
 * Production entry (`bun run start`) and, under `bun --watch`, the development server
 * (`bun run dev`): config → database (DATABASE_URL or embedded) → migrations → job queue
 * (and its worker, unless WORKER_ENABLED=false) → HTTP. SIGTERM / SIGINT shut down gracefully.
 */

import { connectDatabase } from "./bun/database.ts";
import { stopHttpServer } from "./bun/shutdown.ts";
import { isWatchReload, loadConfigOrExit, loggerFor, onShutdownSignal } from "./bun/startup.ts";
import { createApp } from "./core/http/app.ts";
import { startJobQueue } from "./core/jobs/boss.ts";
import { startWorker } from "./core/jobs/worker.ts";
import { pingRedis } from "./core/redis/upstash.ts";
import { checkReadiness } from "./core/services/health.ts";
import { buildMailer } from "./core/wiring/mailer.ts";
import { buildServiceDeps, buildSharedStores } from "./core/wiring/services.ts";

const config = loadConfigOrExit(process.env);
const logger = loggerFor(config);

try {
  const database = await connectDatabase(config, logger);
  const jobs = await startJobQueue({ url: database.url, logger });
  const stores = buildSharedStores(config, logger);
  const db = database.handle.db;
  if (config.workerEnabled) {
    const mailer = buildMailer(config, logger);
    await startWorker(
      jobs,
      { db, logger, mailer, appBaseUrl: config.email.appBaseUrl },
      { concurrency: config.workerConcurrency },
    );
    logger.info("job worker running in this process", {
      concurrency: config.workerConcurrency,
      mailer: mailer.kind,
    });
  }

  let shuttingDown = false;
  const { redis } = stores;
  const app = createApp({
    services: buildServiceDeps(config, { db, logger, jobs: jobs.queue, stores }),
    logger,
    readiness: () =>
      checkReadiness({
        database: database.handle,
        pingRedis: redis ? () => pingRedis(redis) : undefined,
        shuttingDown: () => shuttingDown,
      }),
    production: config.nodeEnv === "production",
    allowedOrigins: config.allowedOrigins,
    trustProxyHops: config.trustProxyHops,
  });
  const server = Bun.serve({ port: config.port, hostname: "0.0.0.0", fetch: app.fetch });
  logger.info(`serving on http://localhost:${server.port} (API reference: /docs)`, {
    env: config.nodeEnv,
    database: database.source,
    tokens: config.tokenType,
    redis: redis ? "HTTP Redis" : "none (in-process stores)",
    rate_limits: stores.limiter.kind,
  });

  onShutdownSignal(logger, async (signal) => {
    // New connections are refused at once (and /readyz fails for any that slip in); requests in
    // flight finish, then running jobs, all within ONE SHUTDOWN_TIMEOUT; then the pools close.
    shuttingDown = true;
    const deadline = Date.now() + config.shutdownTimeout;
    const drained = await stopHttpServer(server, config.shutdownTimeout, logger);
    logger.info("HTTP server stopped");
    await jobs.stop({ timeoutMs: Math.max(1_000, deadline - Date.now()) });
    logger.info(config.workerEnabled ? "job worker stopped, job queue closed" : "job queue closed");
    // Queries still running after a cut belong to requests already cut: end them at once
    // (their transactions roll back) instead of adding the pool's own grace period.
    await database.close({
      keepEmbeddedRunning: isWatchReload(signal),
      timeoutSeconds: drained ? undefined : 0,
    });
    logger.info("database pool closed");
  });
} catch (error) {
  logger.error("start-up failed", { error });
  process.exit(1);
}
