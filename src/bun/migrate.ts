/** Applies the migrations in drizzle/ (read from disk at run time: the Bun side only). */
import path from "node:path";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type { DatabaseHandle } from "../core/db/client.ts";

const MIGRATIONS_FOLDER = path.resolve(import.meta.dir, "../../drizzle");

/**
 * Key of the session-level advisory lock that serialises migrations, so several instances
 * starting at once against one database all come up (the first applies, the others wait and
 * then find nothing to do).
 */
const MIGRATION_LOCK_KEY = 7_265_134_901_144_237n;

export async function runMigrations(handle: DatabaseHandle): Promise<void> {
  const lockConnection = await handle.sql.reserve();
  try {
    await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    await migrate(handle.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(
      () => {},
    );
    lockConnection.release();
  }
}
