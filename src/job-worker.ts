/**
 * The job worker as a process of its own (`bun run worker`), for deployments that run it apart
 * from the API (then set WORKER_ENABLED=false on the API). Stops gracefully on SIGTERM / SIGINT:
 * running jobs finish (bounded by SHUTDOWN_TIMEOUT), then the pools close.
 */

import { connectDatabase } from "./bun/database.ts";
import { isWatchReload, loadConfigOrExit, onShutdownSignal } from "./bun/startup.ts";
import { startJobQueue } from "./core/jobs/boss.ts";
import { startWorker } from "./core/jobs/worker.ts";
import { loggerFor } from "./core/lib/logger.ts";
import { buildMailer } from "./core/wiring/mailer.ts";

const config = loadConfigOrExit(process.env);
const logger = loggerFor(config).child({ process: "worker" });

try {
  const database = await connectDatabase(config, logger, {
    applicationName: "simplebank-worker",
    attachToRunning: true,
  });
  const jobs = await startJobQueue({ url: database.url, logger });
  const mailer = buildMailer(config, logger);
  await startWorker(
    jobs.boss,
    { db: database.handle.db, logger, mailer, appBaseUrl: config.email.appBaseUrl },
    { concurrency: config.workerConcurrency },
  );
  logger.info("job worker running", { concurrency: config.workerConcurrency, mailer: mailer.kind });

  onShutdownSignal(logger, async (signal) => {
    await jobs.stop({ timeoutMs: config.shutdownTimeout });
    logger.info("job worker stopped, job queue closed");
    await database.close({ keepEmbeddedRunning: isWatchReload(signal) });
    logger.info("database pool closed");
  });
} catch (error) {
  logger.error("worker start-up failed", { error });
  process.exit(1);
}
