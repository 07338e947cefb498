/**
 * THE migration source of every Bun entry (`bun run start`, `bun run db:migrate`, the compiled
 * binary `dist/simplebank`, the tests): drizzle-kit's journal and every SQL file it lists,
 * imported into the bundle (as text), so nothing is read from disk at run time. A compiled
 * binary has no drizzle/ folder; `bun src/main.ts` uses the very same set.
 *
 * After `bun run db:generate`, import the new SQL file here and add it to SQL_BY_TAG: a
 * migration listed in the journal but missing here stops every entry with its name (and
 * tests/ship/migrations.test.ts fails).
 */
import { createHash } from "node:crypto";
import type { MigrationMeta } from "drizzle-orm/migrator";
import m0000 from "../../drizzle/0000_init.sql" with { type: "text" };
import m0001 from "../../drizzle/0001_seed_bank_treasury.sql" with { type: "text" };
import m0002 from "../../drizzle/0002_verify_email_job.sql" with { type: "text" };
import m0003 from "../../drizzle/0003_session_reuse_interval.sql" with { type: "text" };
import m0004 from "../../drizzle/0004_transfer_memo.sql" with { type: "text" };
import m0005 from "../../drizzle/0005_entry_balance_after.sql" with { type: "text" };
import m0006 from "../../drizzle/0006_password_resets.sql" with { type: "text" };
import journal from "../../drizzle/meta/_journal.json";

/** Every embedded migration's SQL text, by its journal tag. */
const SQL_BY_TAG: Readonly<Record<string, string>> = {
  "0000_init": m0000,
  "0001_seed_bank_treasury": m0001,
  "0002_verify_email_job": m0002,
  "0003_session_reuse_interval": m0003,
  "0004_transfer_memo": m0004,
  "0005_entry_balance_after": m0005,
  "0006_password_resets": m0006,
};

interface Journal {
  entries: readonly { tag: string; when: number; breakpoints: boolean }[];
}

/**
 * The journal's migrations in drizzle's own format, exactly as `readMigrationFiles` (the
 * folder migrator) builds them from drizzle/: statements split at drizzle-kit's breakpoints,
 * the journal's timestamp, the SHA-256 of the file. Throws, naming them, when the journal
 * lists a migration that `sqlByTag` lacks, or `sqlByTag` holds one the journal does not list.
 */
export function migrationsFrom(
  source: Journal,
  sqlByTag: Readonly<Record<string, string>>,
): MigrationMeta[] {
  const listed = new Set(source.entries.map((entry) => entry.tag));
  const missing = [...listed].filter((tag) => sqlByTag[tag] === undefined);
  const unlisted = Object.keys(sqlByTag).filter((tag) => !listed.has(tag));
  if (missing.length > 0 || unlisted.length > 0) {
    throw new Error(
      [
        missing.length > 0
          ? `migrations listed in drizzle/meta/_journal.json but not embedded: ${missing.join(", ")}`
          : "",
        unlisted.length > 0
          ? `embedded migrations the journal does not list: ${unlisted.join(", ")}`
          : "",
        "(src/bun/migrations.ts imports every drizzle/<tag>.sql of the journal)",
      ]
        .filter(Boolean)
        .join("; "),
    );
  }
  return source.entries.map((entry) => {
    const query = sqlByTag[entry.tag] ?? "";
    return {
      sql: query.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(query).digest("hex"),
    };
  });
}

/** Tags of the embedded migrations (for the check against drizzle/ on disk). */
export const EMBEDDED_MIGRATION_TAGS: readonly string[] = Object.keys(SQL_BY_TAG);

let embedded: MigrationMeta[] | undefined;

/** This build's migrations, in the journal's order (checked on first use). */
export function embeddedMigrations(): MigrationMeta[] {
  embedded ??= migrationsFrom(journal, SQL_BY_TAG);
  return embedded;
}
