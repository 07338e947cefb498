/**
 * The two database documents `bun run db:docs` writes into docs/, and how each is made:
 *   db.dbml     the Drizzle schema (src/core/db/schema.ts) as DBML, for diagrams;
 *   schema.sql  the schema of a freshly migrated database, read from its catalog.
 * tests/ship/db-docs.test.ts regenerates both and fails when the committed ones differ.
 */
import postgres from "postgres";
import { schemaDbml } from "./dbml.ts";
import { type MigratedDatabase, withMigratedDatabase } from "./migrated-database.ts";
import { dumpSchema } from "./schema-dump.ts";

export const DOCS_FILES = ["db.dbml", "schema.sql"] as const;
export type DocsFile = (typeof DOCS_FILES)[number];

/**
 * Left out of schema.sql: pg-boss's schema. pg-boss creates and upgrades it itself (at start,
 * or `bun run db:migrate`), not our migrations, and it holds partitions named after the day
 * they were made (queue_stats_YYYYMMDD), so it could never be the same text twice.
 */
export const EXCLUDED_SCHEMAS = ["pgboss"] as const;

const SCHEMA_SQL_HEADER = `--
-- The schema of a freshly migrated simplebank database: the migrations in drizzle/, applied
-- by runMigrations (src/bun/migrate.ts) to an empty database. Written by \`bun run db:docs\`
-- (tools/db-docs) from that database's catalog, the same text on every machine: do not edit.
--
-- Schemas: public (the bank) and drizzle (the migrator's record of the migrations applied).
-- Left out on purpose: pgboss, the job queue's, which pg-boss creates and upgrades itself.
-- Data is left out too (the treasury rows of migration 0001 among it). Loads as it is into an
-- empty database.
--

`;

/** schema.sql of the database at `url`. */
export async function schemaSql(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return SCHEMA_SQL_HEADER + (await dumpSchema(sql, { excludeSchemas: EXCLUDED_SCHEMAS }));
  } finally {
    await sql.end();
  }
}

/** Both documents, and where the throwaway database ran. */
export async function renderDbDocs(
  env: Record<string, string | undefined> = process.env,
): Promise<{ files: Record<DocsFile, string>; database: MigratedDatabase }> {
  return withMigratedDatabase(
    async (database) => ({
      files: { "db.dbml": schemaDbml(), "schema.sql": await schemaSql(database.url) },
      database,
    }),
    env,
  );
}
