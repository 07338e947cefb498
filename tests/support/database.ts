import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { bunBcrypt } from "../../src/bun/bcrypt.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/bun/embedded-postgres.ts";
import { runMigrations } from "../../src/bun/migrate.ts";
import { type Config, loadConfig } from "../../src/core/config/config.ts";
import { type Database, type DatabaseHandle, openDatabase } from "../../src/core/db/client.ts";
import { type JobQueueHandle, startJobQueue } from "../../src/core/jobs/boss.ts";
import { type Logger, silentLogger } from "../../src/core/lib/logger.ts";
import type { ServiceContext } from "../../src/core/services/context.ts";
import { buildServices, buildSharedStores } from "../../src/core/wiring/services.ts";
import { deleteKeys, type RedisRest, startRedisRest } from "./redis.ts";

/**
 * The database of one `bun test` run. With TEST_DATABASE_URL (or DATABASE_URL) set, a
 * throwaway database is created on that server; with neither, an embedded PostgreSQL is
 * started in a temporary folder. Either way it is migrated once here and removed at the end.
 */
export interface TestDatabase {
  /** "TEST_DATABASE_URL", "DATABASE_URL" or "embedded". */
  source: string;
  url: string;
  handle: DatabaseHandle;
  /** A service context on this database's pool; bcrypt at its cheapest cost for speed. */
  deps: TestContext;
  /** The configuration `deps` were built from: TEST_ENV plus the run's Redis, if any. */
  config: Config;
  /** The Upstash-compatible endpoint in front of REDIS_URL (undefined without REDIS_URL). */
  redis: RedisRest | undefined;
  /** Redis keys of this run start with this. */
  redisPrefix: string;
  /** pg-boss on this database: `deps.jobs` enqueues here; no worker runs unless a test starts one. */
  jobs: JobQueueHandle;
  /** An extra empty database on the same server (dropped at teardown). */
  scratchDatabase(): Promise<string>;
  /** A scratch database with every migration applied, as `bun run db:migrate` leaves one. */
  migratedScratchDatabase(): Promise<string>;
  teardown(): Promise<void>;
}

/** The environment tests run with: a random token key per run, the cheapest bcrypt cost, and
 * rate limits off (their own tests turn them on with small limits). */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: "test",
  BCRYPT_COST: "4",
  TOKEN_SYMMETRIC_KEY: crypto.randomUUID().replaceAll("-", ""),
  RATE_LIMIT_ENABLED: "false",
};

/** TEST_ENV parsed (without Redis: `testDatabase().config` has the run's Redis too). */
export const TEST_CONFIG = loadConfig(TEST_ENV);

/** A service context as a request gets one, on a pool of the tests' own. */
export type TestContext = ServiceContext & { db: Database };

/** Services built from `config` (Bun's native bcrypt, as the server), on `db`. */
export function testContext(
  config: Config,
  db: Database,
  parts: Omit<Parameters<typeof buildServices>[1], "logger"> & { logger?: Logger } = {},
): TestContext {
  const logger = parts.logger ?? silentLogger;
  return { ...buildServices(config, { bcrypt: bunBcrypt, ...parts, logger }), db, logger };
}

let current: Promise<TestDatabase> | undefined;

export function testDatabase(): Promise<TestDatabase> {
  current ??= setUp();
  return current;
}

async function setUp(): Promise<TestDatabase> {
  const configured = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  let tempDir: string | undefined;
  let adminUrl: string;
  if (configured) {
    adminUrl = configured;
  } else {
    tempDir = await mkdtemp(path.join(tmpdir(), "simplebank-test-"));
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tempDir, "pg"),
      logger: silentLogger,
      ephemeral: true,
    });
    adminUrl = embedded.adminUrl;
  }

  const admin = postgres(adminUrl, { max: 2, onnotice: () => {} });
  const created: string[] = [];
  const createDatabase = async (prefix: string) => {
    const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await admin.unsafe(`create database "${name}"`);
    created.push(name);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };

  const url = await createDatabase("bank_test");
  const handle = openDatabase({ url, poolMax: 20, applicationName: "bun-test" });
  await runMigrations(handle);
  const jobs = await startJobQueue({ url, logger: silentLogger, applicationName: "bun-test-jobs" });

  const redis = startRedisRest();
  const redisPrefix = `test:${process.pid}:${crypto.randomUUID().slice(0, 8)}:`;
  const config = redis
    ? loadConfig({
        ...TEST_ENV,
        UPSTASH_REDIS_REST_URL: redis.url,
        UPSTASH_REDIS_REST_TOKEN: redis.token,
        REDIS_KEY_PREFIX: redisPrefix,
      })
    : TEST_CONFIG;
  const stores = buildSharedStores(config, silentLogger);

  return {
    source: process.env.TEST_DATABASE_URL
      ? "TEST_DATABASE_URL"
      : configured
        ? "DATABASE_URL"
        : "embedded",
    url,
    handle,
    deps: testContext(config, handle.db, { jobs: jobs.queue, stores }),
    config,
    redis,
    redisPrefix,
    jobs,
    scratchDatabase: () => createDatabase("bank_scratch"),
    async migratedScratchDatabase() {
      const scratch = await createDatabase("bank_scratch");
      const migrator = openDatabase({
        url: scratch,
        poolMax: 2,
        applicationName: "bun-test-migrate",
      });
      try {
        await runMigrations(migrator);
      } finally {
        await migrator.close();
      }
      return scratch;
    },
    async teardown() {
      await jobs.stop({ timeoutMs: 2_000 }).catch(() => {});
      if (redis) {
        await deleteKeys(redis.redisUrl, redisPrefix).catch(() => {});
        await redis.stop();
      }
      await handle.close();
      for (const name of created) {
        await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
      }
      await admin.end();
      await embedded?.stop();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}
