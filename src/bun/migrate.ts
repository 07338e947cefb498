import { readFile } from "node:fs/promises";
import path from "node:path";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type { DatabaseHandle } from "../core/db/client.ts";

export const MIGRATIONS_FOLDER = path.resolve(import.meta.dir, "../../drizzle");

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

export interface MigrationStatus {
  /** Migrations shipped with this build (drizzle/meta/_journal.json). */
  expected: number;
  /** Migrations recorded as applied in the database. */
  applied: number;
}

let shipped: Promise<number> | undefined;

export async function migrationStatus(
  handle: Pick<DatabaseHandle, "sql">,
): Promise<MigrationStatus> {
  shipped ??= readFile(path.join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8").then(
    (text) => (JSON.parse(text) as { entries: unknown[] }).entries.length,
  );
  const [table] = await handle.sql<{ exists: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  const applied = table?.exists
    ? Number(
        (
          await handle.sql<{ count: string }[]>`
          select count(*)::text as count from drizzle.__drizzle_migrations`
        )[0]?.count ?? 0,
      )
    : 0;
  return { expected: await shipped, applied };
}
