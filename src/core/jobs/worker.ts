import type { PgBoss } from "pg-boss";
import type { Logger } from "../lib/logger.ts";
import { untilAborted } from "../lib/with-timeout.ts";
import { EMAIL_QUEUES } from "./boss.ts";
import { type PasswordResetJobDeps, sendPasswordReset } from "./send-password-reset.ts";
import { sendVerifyEmail } from "./send-verify-email.ts";

export interface WorkerOptions {
  /** Jobs this process runs at once. */
  concurrency: number;
  /** How often an idle worker looks for jobs (seconds, >= 0.5). */
  pollingIntervalSeconds?: number;
}

/** What the worker is doing: batches run so far, running now, and when the latest one began. */
export interface WorkerActivity {
  batches: number;
  running: number;
  /** Epoch milliseconds; null until a first batch. */
  lastBatchStartedAt: number | null;
}

/**
 * Runs the background jobs in this process: `send_verify_email` and `send_password_reset`, and
 * a watcher of each one's dead letters that logs each at error level. Every job logs its start,
 * success or failure with its id and type. Stopping is pg-boss's `stop()` (`JobQueueHandle.stop()`; running jobs finish).
 * Resolves to the worker's live activity (an edge invocation watches it to stop when idle).
 */
export async function startWorker(
  boss: PgBoss,
  deps: PasswordResetJobDeps & { logger: Logger },
  options: WorkerOptions,
): Promise<WorkerActivity> {
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? 1;
  const activity: WorkerActivity = { batches: 0, running: 0, lastBatchStartedAt: null };
  const tracked = async <R>(batch: () => Promise<R>): Promise<R> => {
    activity.batches += 1;
    activity.running += 1;
    activity.lastBatchStartedAt = Date.now();
    try {
      return await batch();
    } finally {
      activity.running -= 1;
    }
  };

  for (const { queue, deadLetter, handler } of [
    { ...EMAIL_QUEUES[0], handler: sendVerifyEmail },
    { ...EMAIL_QUEUES[1], handler: sendPasswordReset },
  ]) {
    await boss.work(
      queue,
      {
        batchSize: 1,
        localConcurrency: options.concurrency,
        perJobResults: true,
        includeMetadata: true,
        pollingIntervalSeconds,
        // Each worker waits a polling interval after every job it fetches, which caps a queue
        // at `concurrency` jobs per interval (4/s by default: the soak's signups outran it).
        // While the queue's statistics show a backlog, the workers fetch back to back instead.
        burstWhenReadyExceeds: 1,
      },
      (jobs) =>
        tracked(async () => {
          const results = [];
          for (const job of jobs) {
            const log = deps.logger.child({
              job_id: job.id,
              job_type: job.name,
              attempt: job.retryCount + 1,
            });
            log.info("job started");
            try {
              // pg-boss aborts job.signal when the attempt outlives expireInSeconds (it has then
              // failed the attempt, for a retry) or when stopping gives up on it. A handler still
              // waiting then (on a database query or a request that never answers) would hold
              // this worker, which fetches nothing until its handler returns: with every worker
              // held so, the queue stops. So the wait ends there; whatever it waited on is dropped.
              const outcome = await untilAborted(
                handler(deps, job),
                job.signal,
                `abandoned: still running when its attempt expired (after ${job.expireInSeconds} s) or the worker stopped`,
              );
              if (outcome.status === "deadletter") {
                log.error(
                  "job failed for good: no retry, to the dead-letter queue",
                  outcome.output,
                );
              } else {
                log.info("job succeeded", outcome.output);
              }
              results.push({ id: job.id, status: outcome.status, output: outcome.output });
            } catch (error) {
              if (job.retryCount < job.retryLimit) {
                log.warn("job failed: it will be retried", {
                  error,
                  retries_left: job.retryLimit - job.retryCount,
                });
              } else {
                log.error("job failed and has no retries left: to the dead-letter queue", {
                  error,
                });
              }
              throw error;
            }
          }
          return results;
        }),
    );

    await boss.work(
      deadLetter,
      { batchSize: 10, includeMetadata: true, pollingIntervalSeconds },
      (jobs) =>
        tracked(async () => {
          for (const job of jobs) {
            // Named by the job that failed (its id and type), not by its copy in this queue.
            deps.logger.error("dead-lettered job: the email was never sent", {
              job_id: job.sourceId ?? job.id,
              job_type: job.sourceName ?? queue,
              dead_letter_job_id: job.id,
              attempts: (job.sourceRetryCount ?? 0) + 1,
              data: job.data,
              output: job.sourceOutput,
            });
          }
        }),
    );
  }
  return activity;
}
