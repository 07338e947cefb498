import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { openDatabase } from "../../src/core/db/client.ts";
import {
  DEFAULT_JOB_SETTINGS,
  type JobQueueHandle,
  QUEUES,
  startJobQueue,
} from "../../src/core/jobs/boss.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import type { Email, Mailer } from "../../src/core/mail/mailer.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { poll } from "../support/poll.ts";

/**
 * A job whose handler never returns (a query on a connection that was cut and is never
 * answered, a request that hangs) must not stop the worker. pg-boss fails such an attempt when
 * it outlives expireInSeconds and aborts the job's signal, but the worker that ran it fetches
 * nothing until its handler returns; with every worker held so, the queue stops for good (seen
 * in `bun run soak`: signups' emails still `created` minutes after the load). On a scratch
 * database with a 1-second expiry; the stuck wait is a mailer whose first send never answers.
 */

let url: string;
let sql: postgres.Sql;
const logs = captureLogs({ level: "info" });
const handles: { stop(): Promise<unknown> }[] = [];

beforeAll(async () => {
  url = await (await testDatabase()).migratedScratchDatabase();
  sql = postgres(url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  for (const handle of handles.reverse()) await handle.stop();
  await sql?.end();
});

async function startQueue(): Promise<JobQueueHandle> {
  const jobs = await startJobQueue({
    url,
    logger: logs.logger,
    settings: {
      ...DEFAULT_JOB_SETTINGS,
      retryDelaySeconds: 1,
      expireInSeconds: 1,
      superviseIntervalSeconds: 1,
    },
    applicationName: "bun-test-stuck-handler",
  });
  handles.push({ stop: () => jobs.stop({ timeoutMs: 1_000 }) });
  return jobs;
}

async function newUser(): Promise<{ username: string; email: string }> {
  const username = uniqueName("stuck");
  const email = `${username}@example.com`;
  await sql`
    insert into users (username, role, hashed_password, full_name, email)
    values (${username}, 'depositor', 'not-a-hash', 'Stuck Handler', ${email})`;
  return { username, email };
}

test("a handler stuck past its attempt's expiry frees its worker: the next jobs and its retry are sent", async () => {
  const jobs = await startQueue();
  const db = openDatabase({ url, poolMax: 2, applicationName: "bun-test-stuck-handler-app" });
  handles.push({ stop: () => db.close() });
  const sent: Email[] = [];
  let sends = 0;
  const mailer: Mailer = {
    kind: "test",
    send(email) {
      sends += 1;
      // The first send never answers; every later one is accepted.
      if (sends === 1) return new Promise(() => {});
      sent.push(email);
      return Promise.resolve({ id: `sent-${sends}` });
    },
  };
  // One worker: held by the stuck handler, nothing else would ever run.
  await startWorker(
    jobs.boss,
    { db: db.db, logger: logs.logger, mailer, appBaseUrl: "https://bank.example.test" },
    { concurrency: 1, pollingIntervalSeconds: 0.5 },
  );

  const stuck = await newUser();
  const stuckJob = await jobs.boss.send(QUEUES.sendVerifyEmail, { username: stuck.username });
  await poll("the first send to start", async () => sends >= 1, { timeoutMs: 10_000 });
  const next = await newUser();
  await jobs.boss.send(QUEUES.sendVerifyEmail, { username: next.username });

  await poll(
    "the next job's email and the stuck job's retry",
    async () => [next.email, stuck.email].every((to) => sent.some((email) => email.to === to)),
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  const [row] = await sql<{ state: string; retry_count: number }[]>`
    select state, retry_count from pgboss.job where id = ${stuckJob}`;
  expect(row).toEqual({ state: "completed", retry_count: 1 });
  const abandoned = logs.lines.find(
    (line) => line.job_id === stuckJob && line.msg === "job failed: it will be retried",
  );
  expect(JSON.stringify(abandoned?.error)).toContain("still running when its attempt expired");
  // pg-boss did not have to warn that a handler held its worker past the expiry.
  expect(logs.lines.filter((line) => line.msg.includes("still running after exceeding"))).toEqual(
    [],
  );
}, 40_000);

test("pg-boss's warnings are logged: a handler that ignores its job's signal is named", async () => {
  const jobs = await startQueue();
  const queue = `stuck_${crypto.randomUUID().slice(0, 8)}`;
  await jobs.boss.createQueue(queue, { expireInSeconds: 1 });
  await jobs.boss.work(queue, { pollingIntervalSeconds: 0.5 }, () => new Promise(() => {}));
  await jobs.boss.send(queue, {});
  const warning = await poll(
    "pg-boss's handler_overrun warning in the log",
    async () =>
      logs.lines.find(
        (line) =>
          line.level === "warn" && line.msg.startsWith(`job queue: a handler on queue ${queue}`),
      ),
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  expect(warning.data).toMatchObject({ type: "handler_overrun", queue });
}, 30_000);
