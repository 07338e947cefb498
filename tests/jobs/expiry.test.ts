import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import {
  DEFAULT_JOB_SETTINGS,
  type JobQueueHandle,
  QUEUES,
  startJobQueue,
} from "../../src/core/jobs/boss.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { testDatabase } from "../support/database.ts";
import { jobTable } from "../support/jobs.ts";
import { poll } from "../support/poll.ts";

/**
 * A job whose worker died mid-job (SIGKILL: nothing ever completes or fails it) comes back:
 * its attempt expires after `expireInSeconds` and pg-boss's supervision retries it. Without
 * this it stayed active for pg-boss's default 15 minutes (found by `bun run soak`: a signup's
 * verification email missing after the worker was killed). Here the "dead worker" is a fetch
 * that is never completed, on a scratch database with a 1-second expiry and supervision.
 */

let url: string;
let jobs: JobQueueHandle;
let sql: postgres.Sql;

beforeAll(async () => {
  url = await (await testDatabase()).migratedScratchDatabase();
  jobs = await startJobQueue({
    url,
    logger: silentLogger,
    settings: {
      ...DEFAULT_JOB_SETTINGS,
      retryDelaySeconds: 1,
      expireInSeconds: 1,
      superviseIntervalSeconds: 1,
    },
    applicationName: "bun-test-expiry",
  });
  sql = postgres(url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await jobs?.stop({ timeoutMs: 2_000 });
  await sql?.end();
});

test("an attempt its worker never finished expires and is retried", async () => {
  const id = await jobs.boss.send(QUEUES.sendVerifyEmail, { username: "nobody_here" });
  if (!id) throw new Error("no job id");
  const [fetched] = await jobs.boss.fetch(QUEUES.sendVerifyEmail);
  expect(fetched?.id).toBe(id);
  expect((await jobTable(sql).byId(id))?.state).toBe("active");

  // The worker "died": nobody completes it. Supervision fails the expired attempt for a retry.
  const again = await poll(
    "the expired job to be fetched again",
    async () => {
      const [job] = await jobs.boss.fetch(QUEUES.sendVerifyEmail);
      return job?.id === id ? job : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  expect(again.id).toBe(id);
  expect((await jobTable(sql).byId(id))?.retry_count).toBe(1);
}, 30_000);

test("the queue a server creates bounds an attempt at DEFAULT_JOB_SETTINGS.expireInSeconds", async () => {
  const fresh = await (await testDatabase()).scratchDatabase();
  const handle = await startJobQueue({ url: fresh, logger: silentLogger });
  try {
    const queue = await handle.boss.getQueue(QUEUES.sendVerifyEmail);
    expect(queue?.expireInSeconds).toBe(DEFAULT_JOB_SETTINGS.expireInSeconds);
    expect(DEFAULT_JOB_SETTINGS.expireInSeconds).toBeLessThanOrEqual(120);
  } finally {
    await handle.stop({ timeoutMs: 2_000 });
  }
});

test("a queue made with other settings gets today's on the next start", async () => {
  const queueBefore = await jobs.boss.getQueue(QUEUES.sendVerifyEmail);
  expect(queueBefore?.expireInSeconds).toBe(1);
  const restarted = await startJobQueue({ url, logger: silentLogger });
  try {
    const queue = await restarted.boss.getQueue(QUEUES.sendVerifyEmail);
    expect(queue?.expireInSeconds).toBe(DEFAULT_JOB_SETTINGS.expireInSeconds);
  } finally {
    await restarted.stop({ timeoutMs: 2_000 });
  }
});
