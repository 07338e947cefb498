import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { testDatabase } from "../support/database.ts";
import { freePort, startServer, stopServer, waitUntilReady } from "../support/process.ts";

/** These tests run the real entry point as a separate process, as an operator would. */

const TOKEN_KEY = "0123456789abcdef0123456789abcdef";

/** Migrations in drizzle/ (its journal). */
async function shippedMigrations(): Promise<number> {
  const journal = await readFile(
    path.join(import.meta.dir, "../../drizzle/meta/_journal.json"),
    "utf8",
  );
  return (JSON.parse(journal) as { entries: unknown[] }).entries.length;
}

describe("bun run start against DATABASE_URL", () => {
  test("two instances starting at once on a fresh database both come up (migrations serialised)", async () => {
    const url = await (await testDatabase()).scratchDatabase();
    const [portA, portB] = [await freePort(), await freePort()];
    // Production needs Redis (and a mailer): with REDIS_URL the run's REST endpoint serves; without
    // it, the instances run in development mode (the migration race is the same).
    const redis = (await testDatabase()).redis;
    const env = {
      DATABASE_URL: url,
      TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
      ...(redis
        ? {
            NODE_ENV: "production",
            UPSTASH_REDIS_REST_URL: redis.url,
            UPSTASH_REDIS_REST_TOKEN: redis.token,
            RESEND_API_KEY: "re_not_used_here",
            EMAIL_FROM: "bank@example.com",
            APP_BASE_URL: "https://bank.example.com",
          }
        : { NODE_ENV: "development" }),
    };
    const a = startServer({ ...env, PORT: String(portA) });
    const b = startServer({ ...env, PORT: String(portB) });
    try {
      await Promise.all([waitUntilReady(a), waitUntilReady(b)]);
      if (redis) {
        // Production logs are JSON lines.
        const firstLine = a.output().split("\n")[0] ?? "";
        expect(() => JSON.parse(firstLine)).not.toThrow();
      }
      const sql = postgres(url, { max: 1 });
      const [{ treasuries } = { treasuries: -1 }] = await sql<{ treasuries: number }[]>`
        select count(*)::int as treasuries from accounts where kind = 'treasury'`;
      const [{ applied } = { applied: -1 }] = await sql<{ applied: number }[]>`
        select count(*)::int as applied from drizzle.__drizzle_migrations`;
      await sql.end();
      expect(treasuries).toBe(3);
      expect(applied).toBe(await shippedMigrations());
    } finally {
      expect(await stopServer(a)).toBe(0);
      expect(await stopServer(b)).toBe(0);
    }
  }, 60_000);

  test("serves with only DATABASE_URL and TOKEN_SYMMETRIC_KEY set (and PORT, a port picked here)", async () => {
    // PORT's default (8080) is the configuration's (tests/config.test.ts); a test never binds a
    // fixed port, which another run or a developer's server may hold.
    const { url } = await testDatabase();
    const port = await freePort();
    const server = startServer({
      DATABASE_URL: url,
      TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
      PORT: String(port),
    });
    try {
      await waitUntilReady(server);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  }, 60_000);

  test("production refuses to start without DATABASE_URL and TOKEN_SYMMETRIC_KEY", async () => {
    const server = startServer({ NODE_ENV: "production", PORT: String(await freePort()) });
    expect(await server.process.exited).toBe(1);
    expect(server.output()).toContain("DATABASE_URL");
    expect(server.output()).toContain("TOKEN_SYMMETRIC_KEY");
  });
});

describe("bun run dev / start without DATABASE_URL (embedded PostgreSQL)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "simplebank-embedded-"));
    await chmod(dir, 0o755); // the server runs as user `postgres` when we are root
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const postmasterAlive = async () => {
    const pid = Number(
      (await readFile(path.join(dir, "pg/postmaster.pid"), "utf8").catch(() => "")).split("\n")[0],
    );
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  test("starts a real PostgreSQL, says so, serves, and stops it on SIGTERM", async () => {
    const port = await freePort();
    const server = startServer({ EMBEDDED_POSTGRES_DIR: path.join(dir, "pg"), PORT: String(port) });
    await waitUntilReady(server);
    expect(server.output()).toContain("EMBEDDED PostgreSQL");
    expect(await postmasterAlive()).toBe(true);
    expect(await stopServer(server)).toBe(0);
    expect(await postmasterAlive()).toBe(false);
  }, 60_000);

  test("recovers from a crash that left the PostgreSQL server running (kill -9)", async () => {
    const first = startServer({
      EMBEDDED_POSTGRES_DIR: path.join(dir, "pg"),
      PORT: String(await freePort()),
    });
    await waitUntilReady(first);
    await stopServer(first, "SIGKILL");
    expect(await postmasterAlive()).toBe(true); // orphaned, still holding the data folder

    const second = startServer({
      EMBEDDED_POSTGRES_DIR: path.join(dir, "pg"),
      PORT: String(await freePort()),
    });
    await waitUntilReady(second);
    expect(second.output()).toContain("orphaned");
    expect(await stopServer(second)).toBe(0);
    expect(await postmasterAlive()).toBe(false);
  }, 60_000);
});
