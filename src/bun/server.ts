/**
 * Serving: config → database (DATABASE_URL or embedded) → migrations → job queue (and its
 * worker, unless WORKER_ENABLED=false) → native gRPC on GRPC_PORT and HTTP (REST, Connect,
 * gRPC-Web) on PORT; SIGTERM / SIGINT shut down gracefully. The one copy, run by `bun run
 * start` / `dev` (src/main.ts) and by the compiled binary (src/binary.ts).
 */
import type { Config } from "../core/config/config.ts";
import { createApp } from "../core/http/app.ts";
import { startJobQueue } from "../core/jobs/boss.ts";
import { startWorker } from "../core/jobs/worker.ts";
import { loggerFor } from "../core/lib/logger.ts";
import { buildHttpDeps } from "../core/wiring/http.ts";
import { buildMailer } from "../core/wiring/mailer.ts";
import { buildServices, buildSharedStores, databaseOutageLog } from "../core/wiring/services.ts";
import { bunBcrypt } from "./bcrypt.ts";
import { bunConnectionIp } from "./connection-ip.ts";
import { consoleAssets } from "./console-assets.ts";
import { connectDatabase } from "./database.ts";
import { DatabaseStartError } from "./database-start.ts";
import { docsAssets } from "./docs-assets.ts";
import { startGrpcServer } from "./grpc-server.ts";
import { stopHttpServer } from "./shutdown.ts";
import { isWatchReload, onShutdownSignal } from "./startup.ts";

/** Seconds a connection may stay silent before the server closes it. */
const IDLE_TIMEOUT_SECONDS = 10;

/** Starts serving; on a start-up failure logs it and exits 1. */
export async function runServer(config: Config): Promise<void> {
  const logger = loggerFor(config);
  try {
    const database = await connectDatabase(config, logger);
    // One record of database outages for HTTP, gRPC and the job queue: one warning each.
    const databaseOutage = databaseOutageLog(logger, () => database.handle.sql`select 1`);
    const jobs = await startJobQueue({ url: database.url, logger, outage: databaseOutage });
    const stores = buildSharedStores(config, logger);
    const { db } = database.handle;
    if (config.workerEnabled) {
      const mailer = buildMailer(config, logger);
      await startWorker(
        jobs.boss,
        { db, logger, mailer, appBaseUrl: config.email.appBaseUrl },
        { concurrency: config.workerConcurrency },
      );
      logger.info("job worker running in this process", {
        concurrency: config.workerConcurrency,
        mailer: mailer.kind,
      });
    }

    let shuttingDown = false;
    const services = buildServices(config, {
      logger,
      jobs: jobs.queue,
      stores,
      bcrypt: bunBcrypt,
      databaseOutage,
    });
    const httpDeps = buildHttpDeps(config, {
      services,
      stores,
      logger,
      database: () => db,
      connectionIp: bunConnectionIp,
      docsAssets,
      consoleAssets,
      shuttingDown: () => shuttingDown,
    });
    const app = createApp(httpDeps);
    // gRPC listens first, so that once /readyz answers, GRPC_PORT does too.
    const grpc = await startGrpcServer(config, httpDeps, logger);
    const server = Bun.serve({
      port: config.port,
      hostname: "0.0.0.0",
      reusePort: config.httpReusePort,
      // A connection silent this long is closed: slow clients (trickled headers or body) cannot
      // hold sockets open (tests/security/api4-resource-consumption.test.ts). Bun's default, said.
      idleTimeout: IDLE_TIMEOUT_SECONDS,
      fetch: app.fetch,
    });
    logger.info(`serving on http://localhost:${server.port} (API reference: /docs)`, {
      env: config.nodeEnv,
      database: database.source,
      tokens: config.tokenType,
      redis: stores.redis ? "HTTP Redis" : "none",
      revocations: stores.revocations.kind,
      rate_limits: stores.limiter.kind,
    });
    logger.info(
      `serving gRPC on ${grpc.tls ? "TLS" : "h2c"} port ${grpc.port} (reflection, health; Connect and gRPC-Web also on the HTTP port)`,
    );

    onShutdownSignal(logger, async (signal) => {
      // New connections are refused at once (and /readyz fails for any that slip in, gRPC
      // health says NOT_SERVING); requests and gRPC calls in flight finish, then running jobs,
      // all within ONE SHUTDOWN_TIMEOUT; then the pools close.
      shuttingDown = true;
      const deadline = Date.now() + config.shutdownTimeout;
      const [httpDrained, grpcDrained] = await Promise.all([
        stopHttpServer(server, config.shutdownTimeout, logger).then((done) => {
          logger.info("HTTP server stopped");
          return done;
        }),
        grpc.stop(config.shutdownTimeout).then((done) => {
          logger.info("gRPC server stopped");
          return done;
        }),
      ]);
      const drained = httpDrained && grpcDrained;
      await jobs.stop({ timeoutMs: Math.max(1_000, deadline - Date.now()) });
      logger.info(
        config.workerEnabled ? "job worker stopped, job queue closed" : "job queue closed",
      );
      // Queries still running after a cut belong to requests already cut: end them at once
      // (their transactions roll back) instead of adding the pool's own grace period.
      await database.close({
        keepEmbeddedRunning: isWatchReload(signal),
        timeoutSeconds: drained ? undefined : 0,
      });
      logger.info("database pool closed");
    });
  } catch (error) {
    if (error instanceof DatabaseStartError) logger.error(`start-up failed: ${error.message}`);
    else logger.error("start-up failed", { error });
    process.exit(1);
  }
}
