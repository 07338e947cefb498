/**
 * Applies this build's migrations (src/bun/migrations.ts: embedded in the bundle, never read
 * from disk) with drizzle's own migration machinery, the dialect's `migrate`: the folder
 * migrator's records in drizzle.__drizzle_migrations, all pending ones in one transaction.
 */
import { PgDialect } from "drizzle-orm/pg-core";
import type { DatabaseHandle } from "../core/db/client.ts";
import { embeddedMigrations } from "./migrations.ts";

/**
 * Key of the session-level advisory lock that serialises migrations, so several instances
 * starting at once against one database all come up (the first applies, the others wait and
 * then find nothing to do).
 */
const MIGRATION_LOCK_KEY = 7_265_134_901_144_237n;

/**
 * The dialect types its session parameter without a schema; ours is the same session with the
 * app's schema, which drizzle's types do not treat as assignable (the migrator only executes SQL).
 */
type MigratorSession = Parameters<PgDialect["migrate"]>[1];

export async function runMigrations(handle: DatabaseHandle): Promise<void> {
  const migrations = embeddedMigrations();
  const lockConnection = await handle.sql.reserve();
  try {
    await lockConnection`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    // drizzle-orm/postgres-js/migrator's migrate() is this call on migrations read from a
    // folder; the default table (drizzle.__drizzle_migrations) is what migration-status reads.
    await new PgDialect().migrate(migrations, handle.db._.session as unknown as MigratorSession, {
      migrationsFolder: "(embedded: src/bun/migrations.ts)",
    });
  } finally {
    await lockConnection`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(
      () => {},
    );
    lockConnection.release();
  }
}
