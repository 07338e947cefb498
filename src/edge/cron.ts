import type { DatabaseHandle } from "../core/db/client.ts";
import { attachJobQueue, jobDatabase } from "../core/jobs/boss.ts";
import { startWorker, type WorkerActivity } from "../core/jobs/worker.ts";
import type { Logger } from "../core/lib/logger.ts";
import { sleep } from "../core/lib/sleep.ts";
import type { Mailer } from "../core/mail/mailer.ts";

/**
 * How long one Cron Trigger invocation keeps taking jobs. Jobs still due then wait for the next
 * invocation (every minute). Well inside a scheduled event's wall-clock limit; what bounds the
 * work in practice is the plan's CPU time (the jobs themselves mostly wait on I/O).
 */
const CRON_BUDGET_MS = 20_000;

/** How often an idle worker looks for jobs here. */
const POLLING_INTERVAL_SECONDS = 0.5;
/**
 * Nothing is due when no batch ran for this long: every worker (each polling every half
 * second) has looked at least twice and found nothing.
 */
const QUIET_MS = 1_500;

/**
 * The Cron Trigger's work: sends the due jobs of the queue the API enqueues into, in small
 * batches, with the container's own worker (`startWorker`: the same handler, retries, backoff
 * and dead letters), run on pg-boss attached to this invocation's database client. Returns when
 * the queues have nothing due (every worker's last fetch found nothing) or the budget is spent;
 * jobs running then finish first.
 */
export async function runDueJobs(parts: {
  database: DatabaseHandle;
  logger: Logger;
  mailer: Mailer;
  appBaseUrl: string;
  concurrency: number;
}): Promise<{ drained: boolean }> {
  const { database, logger } = parts;
  const started = Date.now();
  const deadline = started + CRON_BUDGET_MS;
  const boss = await attachJobQueue(jobDatabase(database.db), logger);
  const activity = await startWorker(
    boss,
    { db: database.db, logger, mailer: parts.mailer, appBaseUrl: parts.appBaseUrl },
    { concurrency: parts.concurrency, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
  );
  try {
    while (!quiet(activity, started) && Date.now() < deadline) await sleep(100);
  } finally {
    // Lets the jobs still running finish within the budget; the client stays the invocation's.
    await boss.stop({
      graceful: true,
      close: false,
      timeout: Math.max(1_000, deadline - Date.now()),
    });
  }
  const drained = quiet(activity, started);
  const summary = { batches: activity.batches, drained, duration_ms: Date.now() - started };
  if (activity.batches > 0 || !drained) logger.info("cron: due jobs run", summary);
  else logger.debug("cron: no job was due", summary);
  return { drained };
}

/** No batch is running, and none began in the last QUIET_MS. */
function quiet(activity: WorkerActivity, started: number): boolean {
  const lastActive = activity.lastBatchStartedAt ?? started;
  return activity.running === 0 && Date.now() - lastActive >= QUIET_MS;
}
