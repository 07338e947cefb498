import type { Transaction } from "../db/client.ts";

/**
 * The background jobs services enqueue. Enqueueing takes the caller's transaction, so a job
 * exists exactly when the change that asked for it commits (contract, POST /users).
 */
export interface JobQueue {
  enqueueVerifyEmail(tx: Transaction, job: { username: string }): Promise<void>;
  /** The email of password reset `resetId` (POST /users/password_reset). */
  enqueuePasswordReset(tx: Transaction, job: { resetId: string }): Promise<void>;
}

/** Enqueues nothing: for tools and tests that do not send email. */
export const noJobs: JobQueue = {
  async enqueueVerifyEmail() {},
  async enqueuePasswordReset() {},
};
