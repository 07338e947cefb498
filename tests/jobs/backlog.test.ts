import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { openDatabase } from "../../src/core/db/client.ts";
import { DEFAULT_JOB_SETTINGS, QUEUES, startJobQueue } from "../../src/core/jobs/boss.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import type { Email, Mailer } from "../../src/core/mail/mailer.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";

/**
 * A backlog is worked off back to back, not one job per polling interval per worker: pg-boss
 * waits the interval after every fetch unless it sees a backlog in the queue's statistics, and
 * without that a worker of concurrency 4 polling every second sent at most 4 emails a second
 * (`bun run soak` saw its signups' emails fall minutes behind). Here one worker polls every 5 s:
 * 30 jobs would take 150 s one per interval; they must be sent well within 30 s.
 */

const JOBS = 30;
let url: string;
let sql: postgres.Sql;

beforeAll(async () => {
  url = await (await testDatabase()).migratedScratchDatabase();
  sql = postgres(url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await sql?.end();
});

test(`a backlog of ${JOBS} jobs is fetched back to back by one worker polling every 5 s`, async () => {
  const jobs = await startJobQueue({
    url,
    logger: silentLogger,
    settings: { ...DEFAULT_JOB_SETTINGS, superviseIntervalSeconds: 1 },
    applicationName: "bun-test-backlog",
  });
  const db = openDatabase({ url, poolMax: 2, applicationName: "bun-test-backlog-app" });
  try {
    for (let i = 0; i < JOBS; i++) {
      const username = uniqueName("backlog");
      await sql`
        insert into users (username, role, hashed_password, full_name, email)
        values (${username}, 'depositor', 'not-a-hash', 'Backlog', ${`${username}@example.com`})`;
      await jobs.boss.send(QUEUES.sendVerifyEmail, { username });
    }
    const sent: Email[] = [];
    const mailer: Mailer = {
      kind: "test",
      async send(email) {
        sent.push(email);
        return { id: `sent-${sent.length}` };
      },
    };
    await startWorker(
      jobs.boss,
      { db: db.db, logger: silentLogger, mailer, appBaseUrl: "https://bank.example.test" },
      { concurrency: 1, pollingIntervalSeconds: 5 },
    );
    await poll(`all ${JOBS} emails sent`, async () => sent.length >= JOBS, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(new Set(sent.map((email) => email.to)).size).toBe(JOBS);
  } finally {
    await jobs.stop({ timeoutMs: 1_000 });
    await db.close();
  }
}, 45_000);
