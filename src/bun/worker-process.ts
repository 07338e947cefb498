/**
 * The job worker alone, for deployments that run it apart from the API (then
 * WORKER_ENABLED=false on the API). Stops gracefully on SIGTERM / SIGINT: running jobs finish
 * (bounded by SHUTDOWN_TIMEOUT), then the pools close. The one copy, run by `bun run worker`
 * (src/job-worker.ts) and by the compiled binary's `worker` command (src/binary.ts).
 */
import type { Config } from "../core/config/config.ts";
import { startJobQueue } from "../core/jobs/boss.ts";
import { startWorker } from "../core/jobs/worker.ts";
import { loggerFor } from "../core/lib/logger.ts";
import { buildMailer } from "../core/wiring/mailer.ts";
import { databaseOutageLog } from "../core/wiring/services.ts";
import { connectDatabase } from "./database.ts";
import { DatabaseStartError } from "./database-start.ts";
import { isWatchReload, onShutdownSignal } from "./startup.ts";

/** Starts the worker; on a start-up failure logs it and exits 1. */
export async function runWorkerProcess(config: Config): Promise<void> {
  const logger = loggerFor(config).child({ process: "worker" });
  try {
    const database = await connectDatabase(config, logger, {
      applicationName: "simplebank-worker",
      attachToRunning: true,
    });
    const jobs = await startJobQueue({
      url: database.url,
      logger,
      outage: databaseOutageLog(logger, () => database.handle.sql`select 1`),
    });
    const mailer = buildMailer(config, logger);
    await startWorker(
      jobs.boss,
      { db: database.handle.db, logger, mailer, appBaseUrl: config.email.appBaseUrl },
      { concurrency: config.workerConcurrency },
    );
    logger.info("job worker running", {
      concurrency: config.workerConcurrency,
      mailer: mailer.kind,
    });

    onShutdownSignal(logger, async (signal) => {
      await jobs.stop({ timeoutMs: config.shutdownTimeout });
      logger.info("job worker stopped, job queue closed");
      await database.close({ keepEmbeddedRunning: isWatchReload(signal) });
      logger.info("database pool closed");
    });
  } catch (error) {
    if (error instanceof DatabaseStartError) {
      logger.error(`worker start-up failed: ${error.message}`);
    } else logger.error("worker start-up failed", { error });
    process.exit(1);
  }
}
