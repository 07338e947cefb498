/**
 * Production entry (`bun run start`) and, under `bun --watch`, the development server
 * (`bun run dev`): config → database (DATABASE_URL or embedded) → migrations → HTTP.
 */
import { createApp } from "./http/app.ts";
import { connectDatabase } from "./runtime/database.ts";
import { isWatchReload, loadConfigOrExit, loggerFor, onShutdownSignal } from "./runtime/startup.ts";
import { checkReadiness } from "./services/health.ts";

const config = loadConfigOrExit(process.env);
const logger = loggerFor(config);

try {
  const database = await connectDatabase(config, logger);
  const app = createApp({
    logger,
    readiness: () => checkReadiness({ database: database.handle }),
  });
  const server = Bun.serve({ port: config.port, hostname: "0.0.0.0", fetch: app.fetch });
  logger.info(`serving on http://localhost:${server.port}`, {
    env: config.nodeEnv,
    database: database.source,
  });

  onShutdownSignal(logger, async (signal) => {
    await server.stop();
    await database.close({ keepEmbeddedRunning: isWatchReload(signal) });
  });
} catch (error) {
  logger.error("start-up failed", { error });
  process.exit(1);
}
