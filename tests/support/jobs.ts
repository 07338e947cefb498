import postgres from "postgres";
import { runMigrations } from "../../src/bun/migrate.ts";
import type { DatabaseHandle } from "../../src/core/db/client.ts";
import { openDatabase } from "../../src/core/db/client.ts";
import { createApp } from "../../src/core/http/app.ts";
import {
  type JobQueueHandle,
  type JobSettings,
  QUEUES,
  startJobQueue,
} from "../../src/core/jobs/boss.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { createResendMailer } from "../../src/core/mail/resend-mailer.ts";
import { buildSharedStores } from "../../src/core/wiring/services.ts";
import { callOn, httpDepsFor, type RequestApp } from "./app.ts";

export { callOn };

import { TEST_CONFIG, type TestContext, testContext, testDatabase } from "./database.ts";
import { type EmailCapture, startEmailCapture } from "./email-capture.ts";
import { uniqueName } from "./fixtures.ts";
import { captureLogs, type LogCapture } from "./logs.ts";

/** A row of pg-boss's job table (the columns the tests look at). */
export interface JobRow {
  id: string;
  name: string;
  state: string;
  data: Record<string, unknown>;
  retry_count: number;
  retry_limit: number;
  output: Record<string, unknown> | null;
  source_id: string | null;
  source_name: string | null;
}

/** Reads pg-boss's schema with plain SQL. */
export function jobTable(sql: postgres.Sql) {
  return {
    /** The `send_verify_email` jobs whose payload names `username`, oldest first. */
    forUser: (username: string) =>
      sql<JobRow[]>`
        select id, name, state, data, retry_count, retry_limit, output, source_id, source_name
        from pgboss.job
        where name = ${QUEUES.sendVerifyEmail} and data->>'username' = ${username}
        order by created_on, id`,
    byId: async (id: string) =>
      (
        await sql<JobRow[]>`
          select id, name, state, data, retry_count, retry_limit, output, source_id, source_name
          from pgboss.job where id = ${id}`
      )[0],
    /** The copy of job `id` in the dead-letter queue, if it got there. */
    deadLetterOf: async (id: string) =>
      (
        await sql<JobRow[]>`
          select id, name, state, data, retry_count, retry_limit, output, source_id, source_name
          from pgboss.job where name = ${QUEUES.sendVerifyEmailDead} and source_id = ${id}`
      )[0],
  };
}

export const TEST_API_KEY = "re_test_capture_0123456789";
export const TEST_EMAIL_FROM = "Simple Bank <no-reply@bank.example.test>";
export const TEST_APP_BASE_URL = "https://bank.example.test";

/**
 * A world of its own for queue tests: a scratch database (migrated), pg-boss on it with
 * `settings` (so short retry delays never clash with the run's queue), the REST app on it, a
 * capture server standing in for resend, and a worker sending through the real resend SDK.
 */
export interface JobsWorld {
  url: string;
  handle: DatabaseHandle;
  sql: postgres.Sql;
  jobs: JobQueueHandle;
  deps: TestContext;
  app: RequestApp;
  capture: EmailCapture;
  logs: LogCapture;
  table: ReturnType<typeof jobTable>;
  /** Registers a user over HTTP; returns its body and the job pg-boss got for it. */
  signUp(options?: { fullName?: string }): Promise<{
    username: string;
    email: string;
    fullName: string;
    jobId: string;
  }>;
  /** Stops the worker and pg-boss (running jobs finish first), then everything else. */
  stop(): Promise<void>;
}

export async function startJobsWorld(
  options: { settings?: JobSettings; concurrency?: number; mailerTimeoutMs?: number } = {},
): Promise<JobsWorld> {
  const url = await (await testDatabase()).scratchDatabase();
  const handle = openDatabase({ url, poolMax: 5, applicationName: "bun-test-jobs-world" });
  await runMigrations(handle);
  const logs = captureLogs();
  const jobs = await startJobQueue({
    url,
    logger: logs.logger,
    settings: options.settings,
    applicationName: "bun-test-jobs-world",
  });
  const capture = startEmailCapture();
  const mailer = createResendMailer({
    apiKey: TEST_API_KEY,
    baseUrl: capture.baseUrl,
    from: TEST_EMAIL_FROM,
    timeoutMs: options.mailerTimeoutMs,
  });
  await startWorker(
    jobs.boss,
    { db: handle.db, logger: logs.logger, mailer, appBaseUrl: TEST_APP_BASE_URL },
    { concurrency: options.concurrency ?? 2, pollingIntervalSeconds: 0.5 },
  );
  const deps = testContext(TEST_CONFIG, handle.db, {
    jobs: jobs.queue,
    stores: buildSharedStores(TEST_CONFIG, silentLogger),
  });
  const app = createApp(httpDepsFor(deps));
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const table = jobTable(sql);
  let stopped: Promise<void> | undefined;
  return {
    url,
    handle,
    sql,
    jobs,
    deps,
    app,
    capture,
    logs,
    table,
    async signUp({ fullName = "Test User" } = {}) {
      const username = uniqueName("jw");
      const email = `${username}@example.com`;
      const res = await callOn(app, "POST", "/users", {
        body: { username, password: `pw-${crypto.randomUUID()}`, full_name: fullName, email },
      });
      if (res.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(res.body)}`);
      const [job] = await table.forUser(username);
      if (!job) throw new Error(`no job for ${username}`);
      return { username, email, fullName, jobId: job.id };
    },
    stop() {
      stopped ??= (async () => {
        await jobs.stop({ timeoutMs: 5_000 });
        await capture.stop();
        await sql.end();
        await handle.close();
      })();
      return stopped;
    },
  };
}
