import { sql } from "drizzle-orm";
import { type Db, fromDrizzle, PgBoss } from "pg-boss";
import type { Database, Transaction } from "../db/client.ts";
import { isUnavailableError } from "../db/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { createOutageLog, type OutageLog } from "../lib/outage.ts";
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
  sendPasswordReset: "send_password_reset",
  /** Where send_password_reset jobs go when they exhaust their retries or fail for good. */
  sendPasswordResetDead: "send_password_reset_dead",
} as const;

/** Each email queue and its dead-letter queue (same retries and backoff for both kinds). */
export const EMAIL_QUEUES = [
  { queue: QUEUES.sendVerifyEmail, deadLetter: QUEUES.sendVerifyEmailDead },
  { queue: QUEUES.sendPasswordReset, deadLetter: QUEUES.sendPasswordResetDead },
] as const;

export interface JobSettings {
  /** Retries after the first attempt. */
  retryLimit: number;
  /** The first retry's delay; each next one doubles (with jitter), up to the max. */
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
  /**
   * How long an attempt may stay active before pg-boss counts it failed and retries it: what
   * brings back a job whose worker died mid-job (SIGKILL, a lost machine), which nothing else
   * ever finishes. pg-boss's own default is 15 minutes.
   */
  expireInSeconds?: number;
  /**
   * How often pg-boss looks for such attempts: its supervision and monitor passes, where expiry
   * happens (both default to 60 s in pg-boss; one instance per database does each pass). Also
   * how often each process reads the queues' statistics (their backlog).
   */
  superviseIntervalSeconds?: number;
}

export const DEFAULT_JOB_SETTINGS = {
  retryLimit: 10,
  retryDelaySeconds: 5,
  retryDelayMaxSeconds: 30 * 60,
  // An attempt is a database read and write and one request to the provider: seconds at most.
  // One that outlives this is retried; the link row and the provider's idempotency key keep the
  // retry from sending a second, different email.
  expireInSeconds: 60,
  superviseIntervalSeconds: 10,
} satisfies JobSettings;

export interface JobQueueHandle {
  boss: PgBoss;
  queue: JobQueue;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/** pg-boss's own schema in our database. */
const JOB_SCHEMA = "pgboss";

/**
 * pg-boss's errors that mean the database is unavailable: postgres-style ones (node-postgres
 * gives the same codes and severities) and node-postgres's own messages for a cut connection.
 */
function isDatabaseOutage(error: unknown): boolean {
  if (isUnavailableError(error)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /connection terminated|connection error|terminating connection|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|the database system is (starting up|shutting down)/i.test(
    message,
  );
}

/**
 * pg-boss's `error` events: a database outage goes to `outage` (one warning per outage, no
 * stack, however many of pg-boss's loops and connections fail); anything else is logged as an
 * error with its stack. Its `warning` events (a handler that outlived its attempt, a backlog, a
 * slow query) are logged as warnings.
 */
function onBossEvents(boss: PgBoss, logger: Logger, outage: OutageLog | undefined): void {
  const outages =
    outage ??
    createOutageLog({
      logger,
      subject: "the job queue's database",
      meanwhile: "jobs wait until it is back",
    });
  boss.on("error", (error) => {
    if (isDatabaseOutage(error)) outages.down(error);
    else logger.error("job queue error", { error });
  });
  boss.on("warning", (warning) => {
    // A slow query's warning carries its parameters (jobs' payloads): not for the log.
    const { values: _parameters, ...data } = warning.data as Record<string, unknown>;
    logger.warn(`job queue: ${warning.message}`, { data });
  });
}

/** Starts pg-boss on `url` (installing or migrating its schema) and makes sure our queues exist. */
export async function startJobQueue(options: {
  url: string;
  logger: Logger;
  settings?: JobSettings;
  applicationName?: string;
  /** The process's database outage log, shared with the services (default: one of its own). */
  outage?: OutageLog;
}): Promise<JobQueueHandle> {
  const settings = options.settings ?? DEFAULT_JOB_SETTINGS;
  const superviseSeconds =
    settings.superviseIntervalSeconds ?? DEFAULT_JOB_SETTINGS.superviseIntervalSeconds;
  const boss = new PgBoss({
    connectionString: options.url,
    schema: JOB_SCHEMA,
    max: 4,
    application_name: options.applicationName ?? "simplebank-jobs",
    superviseIntervalSeconds: superviseSeconds,
    monitorIntervalSeconds: superviseSeconds,
    // The queues' statistics the workers read to tell a backlog (they fetch back to back then).
    queueCacheIntervalSeconds: superviseSeconds,
  });
  onBossEvents(boss, options.logger, options.outage);
  await boss.start();
  for (const { queue, deadLetter } of EMAIL_QUEUES) {
    await boss.createQueue(deadLetter, { retryLimit: 0 });
    const queueOptions = {
      retryLimit: settings.retryLimit,
      retryDelay: settings.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: settings.retryDelayMaxSeconds,
      expireInSeconds: settings.expireInSeconds ?? DEFAULT_JOB_SETTINGS.expireInSeconds,
      deadLetter,
    };
    await boss.createQueue(queue, queueOptions);
    // createQueue leaves an existing queue as it was: a database made by an older release gets
    // today's settings too.
    await boss.updateQueue(queue, queueOptions);
  }
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
function createJobQueue(boss: PgBoss): JobQueue {
  return {
    async enqueueVerifyEmail(tx: Transaction, job: { username: string }) {
      await boss.send(QUEUES.sendVerifyEmail, job, { db: jobDatabase(tx) });
    },
    async enqueuePasswordReset(tx: Transaction, job: { resetId: string }) {
      await boss.send(QUEUES.sendPasswordReset, job, { db: jobDatabase(tx) });
    },
  };
}

/**
 * pg-boss's database interface over our drizzle handle (a transaction, or a postgres.js
 * client). pg-boss is written for node-postgres, which sends a plain object parameter as JSON
 * text; postgres.js refuses one (pg-boss's `fail()` passes the error that way), so such
 * parameters are turned into JSON here. Arrays, dates and bytes pass as they are.
 */
export function jobDatabase(db: Database | Transaction): Db {
  const drizzleDb = fromDrizzle(db, sql);
  return {
    executeSql: (text, values) => drizzleDb.executeSql(text, values?.map(asPgParameter)),
  };
}

function asPgParameter(value: unknown): unknown {
  const plainObject =
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array);
  return plainObject ? JSON.stringify(value) : value;
}

/**
 * pg-boss over a database connection the caller already holds (a transaction, or an edge
 * invocation's own client): no pool of its own, no maintenance, no LISTEN, no instance
 * registry. The schema and queues must exist (`bun run db:migrate`). Stop it with
 * `detachJobQueue` when done.
 */
export async function attachJobQueue(db: Db, logger: Logger): Promise<PgBoss> {
  const boss = new PgBoss({
    db,
    schema: JOB_SCHEMA,
    migrate: false,
    supervise: false,
    schedule: false,
    registerInstance: false,
    useListenNotify: false,
  });
  onBossEvents(boss, logger, undefined);
  await boss.start();
  return boss;
}

/** Stops an attached pg-boss at once (it has nothing running); the connection stays the caller's. */
function detachJobQueue(boss: PgBoss): Promise<void> {
  return boss.stop({ graceful: false, close: false });
}

/**
 * The services' JobQueue where no pg-boss lives for the whole process (the edge): each enqueue
 * attaches pg-boss to the caller's transaction, sends, and detaches. A few reads more per
 * enqueue than `createJobQueue`, for a queue that needs no process of its own.
 */
export function createAttachedJobQueue(logger: Logger): JobQueue {
  const sendOn = async (tx: Transaction, queue: string, job: object) => {
    const db = jobDatabase(tx);
    const boss = await attachJobQueue(db, logger);
    try {
      await boss.send(queue, job, { db });
    } finally {
      await detachJobQueue(boss);
    }
  };
  return {
    enqueueVerifyEmail: (tx, job) => sendOn(tx, QUEUES.sendVerifyEmail, job),
    enqueuePasswordReset: (tx, job) => sendOn(tx, QUEUES.sendPasswordReset, job),
  };
}
