import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { hashSecretCode, newSecretCode } from "../auth/secret-codes.ts";
import { passwordResets, users } from "../db/schema.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import { resetIdRule } from "../domain/users.ts";
import { MailerError } from "../mail/mailer.ts";
import { passwordResetEmail, passwordResetLink } from "../mail/password-reset-email.ts";
import type { JobOutcome, VerifyEmailJobDeps } from "./send-verify-email.ts";

/**
 * The `send_password_reset` job: mints the secret code of a password reset link and mails it.
 *
 * The request that asked for the reset wrote its `password_resets` row and enqueued this job in
 * one transaction; the code is minted here, and only its SHA-256 is stored, so no table (not the
 * job's payload either) ever holds a usable code. The price: a retry cannot mail the code an
 * earlier attempt minted, so each attempt mints a fresh one (the older stops working) and mails
 * it under an idempotency key of its own. An attempt that failed before the provider accepted
 * the email (the usual retry) costs nothing; one that died after it leaves the user two emails,
 * of which the later works.
 */

/** A code is good for this long after it was minted (contract: 15 minutes). */
export const PASSWORD_RESET_TTL_MS = 15 * 60_000;

const PasswordResetPayload = z.strictObject({ resetId: resetIdRule });

export interface PasswordResetJobDeps extends VerifyEmailJobDeps {
  /** When the 15 minutes start (default: the system clock). */
  clock?: Clock;
}

export async function sendPasswordReset(
  deps: PasswordResetJobDeps,
  job: { id: string; data: unknown },
): Promise<JobOutcome> {
  const payload = PasswordResetPayload.safeParse(job.data);
  if (!payload.success) {
    return { status: "deadletter", output: { error: "invalid payload", data: job.data } };
  }
  const { resetId } = payload.data;
  const [reset] = await deps.db
    .select({
      email: passwordResets.email,
      isUsed: passwordResets.isUsed,
      userEmail: users.email,
      fullName: users.fullName,
      verified: users.isEmailVerified,
    })
    .from(passwordResets)
    .innerJoin(users, eq(users.username, passwordResets.username))
    .where(eq(passwordResets.id, resetId));
  if (!reset) return { status: "deadletter", output: { error: `no password reset ${resetId}` } };
  if (reset.isUsed) {
    return { status: "completed", output: { skipped: "link already used or superseded" } };
  }
  if (!reset.verified || reset.userEmail.toLowerCase() !== reset.email.toLowerCase()) {
    // The address changed (or is no longer verified) since the request: the link would go to
    // an address the account no longer proves.
    return { status: "completed", output: { skipped: "email address changed" } };
  }

  const secretCode = newSecretCode();
  const secretCodeHash = hashSecretCode(secretCode);
  const now = (deps.clock ?? systemClock).now();
  const [minted] = await deps.db
    .update(passwordResets)
    .set({ secretCodeHash, expiredAt: new Date(now.getTime() + PASSWORD_RESET_TTL_MS) })
    .where(and(eq(passwordResets.id, resetId), eq(passwordResets.isUsed, false)))
    .returning({ id: passwordResets.id });
  if (!minted) {
    return { status: "completed", output: { skipped: "link already used or superseded" } };
  }

  try {
    const sent = await deps.mailer.send(
      passwordResetEmail({
        to: reset.email,
        fullName: reset.fullName,
        link: passwordResetLink(deps.appBaseUrl, resetId, secretCode),
        // One key per code: a retry's new code must reach the user, not be dropped as a repeat.
        idempotencyKey: `password-reset/${resetId}/${secretCodeHash.slice(0, 16)}`,
      }),
    );
    return { status: "completed", output: { passwordResetId: resetId, messageId: sent.id } };
  } catch (error) {
    if (error instanceof MailerError && error.permanent) {
      return { status: "deadletter", output: { error: error.message, status: error.status } };
    }
    throw error;
  }
}
