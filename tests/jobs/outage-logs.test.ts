import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { openDatabase } from "../../src/core/db/client.ts";
import { type JobQueueHandle, startJobQueue } from "../../src/core/jobs/boss.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import { createLogMailer } from "../../src/core/mail/log-mailer.ts";
import { databaseOutageLog } from "../../src/core/wiring/services.ts";
import { testDatabase } from "../support/database.ts";
import { captureLogs } from "../support/logs.ts";
import { poll } from "../support/poll.ts";

/**
 * Issue 11 B.4: pg-boss during database outages. Its connections cut again and again
 * (pg_terminate_backend) while a worker polls: pg-boss's `error` events (several per cut
 * connection) become ONE warning per outage, without a stack, and one line when it is back;
 * nothing at ERROR. On a database of its own, so the cuts touch nobody else.
 */

let admin: postgres.Sql;
let url: string;

beforeAll(async () => {
  const database = await testDatabase();
  url = await database.migratedScratchDatabase();
  admin = postgres(database.url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await admin?.end();
});

async function terminate(applicationName: string): Promise<number> {
  const rows = await admin<{ ok: boolean }[]>`
    with victims as materialized (
      select pid from pg_stat_activity
      where application_name = ${applicationName} and pid <> pg_backend_pid()
    )
    select pg_terminate_backend(pid) as ok from victims`;
  return rows.filter((row) => row.ok).length;
}

describe("pg-boss's errors while its connections are cut", () => {
  let jobs: JobQueueHandle | undefined;
  afterAll(async () => {
    await jobs?.stop({ timeoutMs: 1_000 }).catch(() => {});
  });

  test("one warning per outage, no stack, no ERROR; 'available again' once it answers", async () => {
    const applicationName = `outage-logs-${crypto.randomUUID().slice(0, 8)}`;
    const { logger, lines } = captureLogs({ level: "info" });
    const db = openDatabase({ url, poolMax: 2, applicationName: `${applicationName}-app` });
    const outage = databaseOutageLog(logger, () => db.sql`select 1`);
    jobs = await startJobQueue({ url, logger, applicationName, outage });
    await startWorker(
      jobs.boss,
      { db: db.db, logger, mailer: createLogMailer(logger), appBaseUrl: "http://localhost" },
      { concurrency: 1 },
    );

    const ROUNDS = 3;
    let cut = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Wait for pg-boss to be connected again, then cut every connection it has.
      await poll(
        "pg-boss connected",
        async () => {
          const [row] = await admin<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity where application_name = ${applicationName}`;
          return (row?.n ?? 0) > 0;
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
      cut += await terminate(applicationName);
      await Bun.sleep(1_500);
    }
    // pg-boss notices on its next poll or maintenance run; give it time to, then to recover.
    await Bun.sleep(3_000);
    await db.close();

    const downs = lines.filter((l) => l.msg.startsWith("the database is unavailable"));
    const errors = lines.filter((l) => l.level === "error");
    console.info(
      `[pg-boss outage] ${cut} connections cut in ${ROUNDS} rounds: ${downs.length} warnings, ${errors.length} errors`,
    );
    expect(cut).toBeGreaterThanOrEqual(ROUNDS);
    expect(errors).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('"stack"');
    expect(downs.length).toBeLessThanOrEqual(ROUNDS);
    for (const down of downs) {
      expect(down.level).toBe("warn");
      expect(String(down.reason)).not.toBe("");
    }
    const backs = lines.filter((l) => l.msg.startsWith("the database is available again"));
    expect(backs.length).toBe(downs.length);
  }, 60_000);
});
