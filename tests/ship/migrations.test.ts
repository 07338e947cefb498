import { describe, expect, test } from "bun:test";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { readMigrationFiles } from "drizzle-orm/migrator";
import {
  EMBEDDED_MIGRATION_TAGS,
  embeddedMigrations,
  migrationsFrom,
} from "../../src/bun/migrations.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * The migrations every Bun entry and the compiled binary apply are the ones embedded in the
 * bundle (src/bun/migrations.ts). Here they are held against drizzle/ on disk, read the way
 * drizzle's folder migrator reads it, so a new migration that is not embedded fails here.
 */

const DRIZZLE = path.join(PROJECT_ROOT, "drizzle");

async function journalOnDisk(): Promise<{ tag: string }[]> {
  const text = await readFile(path.join(DRIZZLE, "meta", "_journal.json"), "utf8");
  return (JSON.parse(text) as { entries: { tag: string }[] }).entries;
}

describe("the embedded migrations (src/bun/migrations.ts)", () => {
  test("every migration listed in drizzle/meta/_journal.json is embedded, in the journal's order", async () => {
    const listed = (await journalOnDisk()).map((entry) => entry.tag);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((tag) => !EMBEDDED_MIGRATION_TAGS.includes(tag))).toEqual([]);
    expect([...EMBEDDED_MIGRATION_TAGS]).toEqual(listed);
  });

  test("every SQL file in drizzle/ is in the journal", async () => {
    const files = (await readdir(DRIZZLE)).filter((name) => name.endsWith(".sql"));
    const listed = new Set((await journalOnDisk()).map((entry) => `${entry.tag}.sql`));
    expect(files.filter((file) => !listed.has(file))).toEqual([]);
  });

  test("they are exactly what drizzle's folder migrator reads from drizzle/ (statements, timestamps, hashes)", () => {
    expect(embeddedMigrations()).toEqual(readMigrationFiles({ migrationsFolder: DRIZZLE }));
  });

  test("a journal entry without its SQL stops the migrations, naming it", () => {
    const journal = {
      entries: [
        { tag: "0000_a", when: 1, breakpoints: true },
        { tag: "0001_b", when: 2, breakpoints: true },
      ],
    };
    expect(() => migrationsFrom(journal, { "0000_a": "select 1;" })).toThrow(
      "migrations listed in drizzle/meta/_journal.json but not embedded: 0001_b",
    );
    expect(() =>
      migrationsFrom(journal, { "0000_a": "select 1;", "0001_b": "select 2;", "0002_c": "" }),
    ).toThrow("embedded migrations the journal does not list: 0002_c");
  });
});
