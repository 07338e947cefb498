import { sql } from "drizzle-orm";
import journal from "../../../drizzle/meta/_journal.json";
import type { Database, Transaction } from "./client.ts";

/**
 * How far the database's schema is: the migrations this build ships (drizzle-kit's journal,
 * bundled into the build, so no file is read at run time) against those recorded as applied.
 * Migrations are applied by `bun run db:migrate` or the Bun server's start, never per request.
 */
export interface MigrationStatus {
  /** Migrations shipped with this build (drizzle/meta/_journal.json). */
  expected: number;
  /** Migrations recorded as applied in the database. */
  applied: number;
}

const SHIPPED_MIGRATIONS = journal.entries.length;

export async function migrationStatus(db: Database | Transaction): Promise<MigrationStatus> {
  const [table] = await db.execute<{ exists: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as exists`,
  );
  if (!table?.exists) return { expected: SHIPPED_MIGRATIONS, applied: 0 };
  const [row] = await db.execute<{ applied: number }>(
    sql`select count(*)::int as applied from drizzle.__drizzle_migrations`,
  );
  return { expected: SHIPPED_MIGRATIONS, applied: Number(row?.applied ?? 0) };
}
