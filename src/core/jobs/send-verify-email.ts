import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { newSecretCode } from "../auth/secret-codes.ts";
import type { Database } from "../db/client.ts";
import { users, verifyEmails } from "../db/schema.ts";
import { usernameRule } from "../domain/users.ts";
import { type Mailer, MailerError } from "../mail/mailer.ts";
import { verificationEmail, verificationLink } from "../mail/verification-email.ts";

/**
 * The `send_verify_email` job: creates the user's verification link and mails it.
 *
 * One job = one link, however often it is retried: the `verify_emails` row is keyed by the job
 * id, so a retry finds the row (and its secret code) the first attempt created and only extends
 * its expiry; and the email goes out with an idempotency key derived from the job id, so the
 * provider drops a duplicate when an attempt died after sending.
 */

const VerifyEmailPayload = z.strictObject({ username: usernameRule });

export interface VerifyEmailJobDeps {
  db: Database;
  mailer: Mailer;
  /** Links are `${appBaseUrl}/verify_email?...`. */
  appBaseUrl: string;
}

/**
 * What became of an attempt: `completed` (sent, or nothing left to send) or `deadletter` (it can
 * never succeed: bad payload, the provider refused the email). Anything that may succeed later
 * throws instead, and the queue retries it.
 */
export interface JobOutcome {
  status: "completed" | "deadletter";
  output: Record<string, unknown>;
}

export async function sendVerifyEmail(
  deps: VerifyEmailJobDeps,
  job: { id: string; data: unknown },
): Promise<JobOutcome> {
  const payload = VerifyEmailPayload.safeParse(job.data);
  if (!payload.success) {
    return { status: "deadletter", output: { error: "invalid payload", data: job.data } };
  }
  const { username } = payload.data;
  const [user] = await deps.db
    .select({ email: users.email, fullName: users.fullName, verified: users.isEmailVerified })
    .from(users)
    .where(eq(users.username, username));
  if (!user) return { status: "deadletter", output: { error: `no user ${username}` } };
  if (user.verified) return { status: "completed", output: { skipped: "already verified" } };

  // The first attempt creates the link; a retry gets the same one back with a fresh expiry.
  const [link] = await deps.db
    .insert(verifyEmails)
    .values({ username, email: user.email, secretCode: newSecretCode(), jobId: job.id })
    .onConflictDoUpdate({
      target: verifyEmails.jobId,
      set: { expiredAt: sql`now() + interval '15 minutes'` },
      setWhere: sql`${verifyEmails.isUsed} = false`,
    })
    .returning();
  if (!link) return { status: "completed", output: { skipped: "link already used" } };
  if (link.email.toLowerCase() !== user.email.toLowerCase()) {
    // The address changed since this job's first attempt; the change queued its own job.
    return { status: "completed", output: { skipped: "email address changed" } };
  }

  try {
    const sent = await deps.mailer.send(
      verificationEmail({
        to: link.email,
        fullName: user.fullName,
        link: verificationLink(deps.appBaseUrl, link.id, link.secretCode),
        idempotencyKey: `verify-email/${job.id}`,
      }),
    );
    return { status: "completed", output: { verifyEmailId: link.id, messageId: sent.id } };
  } catch (error) {
    if (error instanceof MailerError && error.permanent) {
      return { status: "deadletter", output: { error: error.message, status: error.status } };
    }
    throw error;
  }
}
