import type { Config } from "../core/config/config.ts";
import { type DatabaseHandle, openDatabase } from "../core/db/client.ts";
import type { Logger } from "../core/lib/logger.ts";
import { awaitDatabase } from "./database-start.ts";
import {
  type EmbeddedPostgres,
  ensureDatabase,
  startEmbeddedPostgres,
} from "./embedded-postgres.ts";
import { runMigrations } from "./migrate.ts";

export interface RuntimeDatabase {
  handle: DatabaseHandle;
  /** The connection URL (pg-boss opens its own pool on it). */
  url: string;
  /** "DATABASE_URL" or "embedded (<folder>)": said in the start-up log. */
  source: string;
  /**
   * Closes the pool (queries still running get `timeoutSeconds`, default 5) and stops the
   * embedded cluster (unless kept for a `bun --watch` reload).
   */
  close(options?: { keepEmbeddedRunning?: boolean; timeoutSeconds?: number }): Promise<void>;
}

/**
 * Connects to DATABASE_URL or, when it is unset (never in production), starts the embedded
 * PostgreSQL in EMBEDDED_POSTGRES_DIR; waits (bounded) for it to answer, then applies pending
 * migrations. An unreachable server, a missing database or a refused login throws a
 * DatabaseStartError whose message says what to do.
 */
export async function connectDatabase(
  config: Config,
  logger: Logger,
  options: { migrate?: boolean; applicationName?: string; attachToRunning?: boolean } = {},
): Promise<RuntimeDatabase> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    logger.warn(
      `DATABASE_URL is not set: using an EMBEDDED PostgreSQL with its data in ${config.embeddedPostgresDir} (development only)`,
    );
    embedded = await startEmbeddedPostgres({
      dataDir: config.embeddedPostgresDir,
      logger,
      attachToRunning: options.attachToRunning,
    });
    url = await ensureDatabase(embedded.adminUrl, "bank");
    logger.info(`embedded PostgreSQL is up on 127.0.0.1:${embedded.port}, database "bank"`);
  }
  const handle = openDatabase({
    url,
    poolMax: config.databasePoolMax,
    applicationName: options.applicationName,
  });
  let poolClosed = false;
  /** Safe to call again (e.g. first keeping the embedded cluster, then stopping it). */
  const close = async (
    closeOptions: { keepEmbeddedRunning?: boolean; timeoutSeconds?: number } = {},
  ) => {
    if (!poolClosed) {
      poolClosed = true;
      await handle.close({ timeoutSeconds: closeOptions.timeoutSeconds });
    }
    if (!closeOptions.keepEmbeddedRunning) await embedded?.stop();
  };
  try {
    await awaitDatabase(handle, url, logger);
    if (options.migrate ?? true) {
      await runMigrations(handle);
      logger.info("database migrations applied");
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    handle,
    url,
    source: embedded ? `embedded (${config.embeddedPostgresDir})` : "DATABASE_URL",
    close,
  };
}
