/**
 * A freshly migrated, throwaway database for `bun run db:docs`: created on the server named by
 * TEST_DATABASE_URL (or DATABASE_URL), or on an embedded PostgreSQL in a temporary folder when
 * neither is set (a machine with only Bun); migrated with the project's own runMigrations
 * (drizzle/, nothing else: no pg-boss, no seed beyond the migrations'); dropped afterwards.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/bun/embedded-postgres.ts";
import { runMigrations } from "../../src/bun/migrate.ts";
import { openDatabase } from "../../src/core/db/client.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";

export interface MigratedDatabase {
  url: string;
  /** "TEST_DATABASE_URL", "DATABASE_URL" or "embedded". */
  source: string;
  /** The server's version, e.g. "15.20 (Debian 15.20-0+deb12u1)". */
  serverVersion: string;
}

export async function withMigratedDatabase<T>(
  work: (database: MigratedDatabase) => Promise<T>,
  env: Record<string, string | undefined> = process.env,
): Promise<T> {
  const configured = env.TEST_DATABASE_URL || env.DATABASE_URL;
  const source = env.TEST_DATABASE_URL
    ? "TEST_DATABASE_URL"
    : configured
      ? "DATABASE_URL"
      : "embedded";
  let embedded: EmbeddedPostgres | undefined;
  let tempDir: string | undefined;
  let admin: postgres.Sql | undefined;
  let name: string | undefined;
  try {
    let serverUrl = configured;
    if (!serverUrl) {
      tempDir = await mkdtemp(path.join(tmpdir(), "simplebank-db-docs-"));
      embedded = await startEmbeddedPostgres({
        dataDir: path.join(tempDir, "pg"),
        logger: silentLogger,
        ephemeral: true,
      });
      serverUrl = embedded.adminUrl;
    }
    admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    const [server] = await admin<
      { version: string }[]
    >`select current_setting('server_version') as version`;
    name = `db_docs_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;

    const handle = openDatabase({ url: url.toString(), poolMax: 2, applicationName: "db-docs" });
    try {
      await runMigrations(handle);
    } finally {
      await handle.close();
    }
    return await work({ url: url.toString(), source, serverVersion: server?.version ?? "unknown" });
  } finally {
    if (admin) {
      if (name)
        await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
      await admin.end();
    }
    await embedded?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
}
