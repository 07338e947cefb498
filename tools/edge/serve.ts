/**
 * `bun run edge`: the Cloudflare Worker built and served locally in workerd, on PORT, configured
 * by the same variables as `bun run start` (each variable the configuration knows is handed to
 * the Worker as its env). With no DATABASE_URL it uses the embedded PostgreSQL exactly as `bun
 * run dev` does. Migrations and the job queue's schema are applied first (on Cloudflare that is
 * the deploy step `bun run db:migrate`). The Cron Trigger fires every few seconds here instead
 * of every minute. Ctrl-C / SIGTERM stop workerd, then the database.
 */
import { connectDatabase } from "../../src/bun/database.ts";
import { loadConfigOrExit, onShutdownSignal } from "../../src/bun/startup.ts";
import { CONFIG_VARIABLES } from "../../src/core/config/config.ts";
import { startJobQueue } from "../../src/core/jobs/boss.ts";
import { loggerFor } from "../../src/core/lib/logger.ts";
import { buildBundle, kib } from "./bundle.ts";
import { startLocalWorker } from "./workerd.ts";

/** How often the local Cron Trigger fires (Cloudflare's fires every minute). */
const LOCAL_CRON_INTERVAL_MS = 5_000;

const config = loadConfigOrExit(process.env);
const logger = loggerFor(config).child({ process: "edge" });

try {
  const database = await connectDatabase(config, logger, {
    applicationName: "simplebank-edge-dev",
  });
  await (await startJobQueue({ url: database.url, logger })).stop();
  const bundle = await buildBundle();
  logger.info(`Worker bundle: ${kib(bundle.bytes)} raw, ${kib(bundle.gzipBytes)} gzipped`);

  const bindings: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = process.env[name];
    if (value) bindings[name] = value;
  }
  bindings.DATABASE_URL = database.url;
  const worker = await startLocalWorker(bundle, { bindings, port: config.port });
  logger.info(`serving the Worker in workerd on ${worker.url} (API reference: /docs)`, {
    database: database.source,
  });

  let cron: Promise<void> | undefined;
  const timer = setInterval(() => {
    cron ??= worker
      .scheduled()
      .catch((error: unknown) => logger.error("the Cron Trigger failed", { error }))
      .finally(() => {
        cron = undefined;
      });
  }, LOCAL_CRON_INTERVAL_MS);

  onShutdownSignal(logger, async () => {
    clearInterval(timer);
    await cron;
    await worker.stop();
    logger.info("workerd stopped");
    await database.close();
    logger.info("database closed");
  });
} catch (error) {
  logger.error("start-up failed", { error });
  process.exit(1);
}
