import { sql } from "drizzle-orm";
import { fromDrizzle, PgBoss } from "pg-boss";
import type { Transaction } from "../db/client.ts";
import type { Logger } from "../lib/logger.ts";
import type { JobQueue } from "../services/jobs.ts";

/**
 * The durable job queue: pg-boss in our PostgreSQL (its own schema `pgboss`; SKIP LOCKED,
 * retries with exponential backoff, dead letters). Jobs are sent inside the caller's
 * transaction, so a rolled-back change leaves no job and a committed one always has its job.
 */

export const QUEUES = {
  sendVerifyEmail: "send_verify_email",
  /** Where send_verify_email jobs go when they exhaust their retries or fail for good. */
  sendVerifyEmailDead: "send_verify_email_dead",
} as const;

export interface JobSettings {
  /** Retries after the first attempt. */
  retryLimit: number;
  /** The first retry's delay; each next one doubles (with jitter), up to the max. */
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
}

export const DEFAULT_JOB_SETTINGS: JobSettings = {
  retryLimit: 10,
  retryDelaySeconds: 5,
  retryDelayMaxSeconds: 30 * 60,
};

export interface JobQueueHandle {
  boss: PgBoss;
  queue: JobQueue;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/** Starts pg-boss on `url` (installing or migrating its schema) and makes sure our queues exist. */
export async function startJobQueue(options: {
  url: string;
  logger: Logger;
  settings?: JobSettings;
  applicationName?: string;
}): Promise<JobQueueHandle> {
  const settings = options.settings ?? DEFAULT_JOB_SETTINGS;
  const boss = new PgBoss({
    connectionString: options.url,
    schema: "pgboss",
    max: 4,
    application_name: options.applicationName ?? "simplebank-jobs",
  });
  boss.on("error", (error) => options.logger.error("job queue error", { error }));
  await boss.start();
  await boss.createQueue(QUEUES.sendVerifyEmailDead, { retryLimit: 0 });
  await boss.createQueue(QUEUES.sendVerifyEmail, {
    retryLimit: settings.retryLimit,
    retryDelay: settings.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: settings.retryDelayMaxSeconds,
    deadLetter: QUEUES.sendVerifyEmailDead,
  });
  let stopped: Promise<void> | undefined;
  return {
    boss,
    queue: createJobQueue(boss),
    stop({ timeoutMs = 10_000 } = {}) {
      // Lets running jobs finish (up to the timeout), then closes pg-boss's pool. Once.
      stopped ??= boss.stop({ graceful: true, timeout: timeoutMs, close: true });
      return stopped;
    },
  };
}

/** The services' JobQueue on pg-boss: `send` runs on the caller's transaction. */
export function createJobQueue(boss: PgBoss): JobQueue {
  return {
    async enqueueVerifyEmail(tx: Transaction, job: { username: string }) {
      await boss.send(QUEUES.sendVerifyEmail, job, { db: fromDrizzle(tx, sql) });
    },
  };
}
