/**
 * Production entry (`bun run start`) and, under `bun --watch`, the development server
 * (`bun run dev`): config → database (DATABASE_URL or embedded) → migrations → HTTP.
 */
import { createApp } from "./http/app.ts";
import { connectDatabase } from "./runtime/database.ts";
import { buildServiceDeps } from "./runtime/services.ts";
import { isWatchReload, loadConfigOrExit, loggerFor, onShutdownSignal } from "./runtime/startup.ts";
import { checkReadiness } from "./services/health.ts";

const config = loadConfigOrExit(process.env);
const logger = loggerFor(config);

try {
  const database = await connectDatabase(config, logger);
  const app = createApp({
    services: buildServiceDeps(config, { db: database.handle.db, logger }),
    logger,
    readiness: () => checkReadiness({ database: database.handle }),
    production: config.nodeEnv === "production",
    allowedOrigins: config.allowedOrigins,
    trustProxyHops: config.trustProxyHops,
  });
  const server = Bun.serve({ port: config.port, hostname: "0.0.0.0", fetch: app.fetch });
  logger.info(`serving on http://localhost:${server.port} (API reference: /docs)`, {
    env: config.nodeEnv,
    database: database.source,
    tokens: config.tokenType,
  });

  onShutdownSignal(logger, async (signal) => {
    await server.stop();
    await database.close({ keepEmbeddedRunning: isWatchReload(signal) });
  });
} catch (error) {
  logger.error("start-up failed", { error });
  process.exit(1);
}
