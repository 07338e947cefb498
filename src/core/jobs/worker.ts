import type { PgBoss } from "pg-boss";
import type { Logger } from "../lib/logger.ts";
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
              const outcome = await handler(deps, job);
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
