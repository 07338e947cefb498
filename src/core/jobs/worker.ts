import type { Logger } from "../lib/logger.ts";
import { type JobQueueHandle, QUEUES } from "./boss.ts";
import { sendVerifyEmail, type VerifyEmailJobDeps } from "./send-verify-email.ts";

export interface WorkerOptions {
  /** Jobs this process runs at once. */
  concurrency: number;
  /** How often an idle worker looks for jobs (seconds, >= 0.5). */
  pollingIntervalSeconds?: number;
}

/**
 * Runs the background jobs in this process: `send_verify_email`, and a watcher of its dead
 * letters that logs each at error level. Every job logs its start, success or failure with its
 * id and type. Stopping is `JobQueueHandle.stop()` (lets running jobs finish).
 */
export async function startWorker(
  handle: JobQueueHandle,
  deps: VerifyEmailJobDeps & { logger: Logger },
  options: WorkerOptions,
): Promise<void> {
  const { boss } = handle;
  const pollingIntervalSeconds = options.pollingIntervalSeconds ?? 1;

  await boss.work(
    QUEUES.sendVerifyEmail,
    {
      batchSize: 1,
      localConcurrency: options.concurrency,
      perJobResults: true,
      includeMetadata: true,
      pollingIntervalSeconds,
    },
    async (jobs) => {
      const results = [];
      for (const job of jobs) {
        const log = deps.logger.child({
          job_id: job.id,
          job_type: job.name,
          attempt: job.retryCount + 1,
        });
        log.info("job started");
        try {
          const outcome = await sendVerifyEmail(deps, job);
          if (outcome.status === "deadletter") {
            log.error("job failed for good: no retry, to the dead-letter queue", outcome.output);
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
            log.error("job failed and has no retries left: to the dead-letter queue", { error });
          }
          throw error;
        }
      }
      return results;
    },
  );

  await boss.work(
    QUEUES.sendVerifyEmailDead,
    { batchSize: 10, includeMetadata: true, pollingIntervalSeconds },
    async (jobs) => {
      for (const job of jobs) {
        // Named by the job that failed (its id and type), not by its copy in this queue.
        deps.logger.error("dead-lettered job: the email was never sent", {
          job_id: job.sourceId ?? job.id,
          job_type: job.sourceName ?? QUEUES.sendVerifyEmail,
          dead_letter_job_id: job.id,
          attempts: (job.sourceRetryCount ?? 0) + 1,
          data: job.data,
          output: job.sourceOutput,
        });
      }
    },
  );
}
