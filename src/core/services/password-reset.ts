import { and, eq, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { hashSecretCode, sameSecret } from "../auth/secret-codes.ts";
import { passwordResets, users } from "../db/schema.ts";
import { BusinessRuleError } from "../domain/errors.ts";
import { expected } from "../domain/messages.ts";
import type { ClientInfo } from "../domain/types.ts";
import { passwordRule, resetIdRule, SYSTEM_USERNAME, secretCodeRule } from "../domain/users.ts";
import { inTransaction, type ServiceContext } from "./context.ts";
import { assertAllowed } from "./rate-limits.ts";
import { blockSessions } from "./users.ts";
import { assertValid } from "./validation.ts";

/**
 * Password reset (contract, "Users and sessions"): a request by email address that always gets
 * the same answer, a single-use link mailed by the job queue, and a confirmation that sets the
 * new password and ends every session of the user.
 */

/** Any string: what the address is (or whether it is one) must not change the answer. */
const requestEmailRule = z.string({ error: expected("a string") });

/**
 * POST /users/password_reset. Counted per client IP and per address (the address's count is
 * kept under its SHA-256, whether or not anyone has it); over either limit, 429. Otherwise the
 * same quiet success for every address: only a verified user's address gets a link. The new
 * link and its job are written in ONE transaction, and the user's older unused links stop
 * working (one live link per user).
 */
export async function requestPasswordReset(
  ctx: ServiceContext,
  input: { email: string },
  client: Pick<ClientInfo, "clientIp">,
): Promise<void> {
  assertValid([["email", requestEmailRule, input.email]]);
  const now = ctx.clock.now();
  assertAllowed(await ctx.limiter.hit("password_reset_ip", client.clientIp), now);
  const address = input.email.trim().toLowerCase();
  assertAllowed(await ctx.limiter.hit("password_reset_email", hashSecretCode(address)), now);
  await inTransaction(ctx, async (tx) => {
    const [user] = await tx
      .select({ username: users.username, email: users.email })
      .from(users)
      .where(
        and(
          sql`lower(${users.email}) = ${address}`,
          eq(users.isEmailVerified, true),
          ne(users.username, SYSTEM_USERNAME),
        ),
      )
      .for("update");
    if (!user) return;
    await tx
      .update(passwordResets)
      .set({ isUsed: true })
      .where(and(eq(passwordResets.username, user.username), eq(passwordResets.isUsed, false)));
    const resetId = crypto.randomUUID();
    await tx
      .insert(passwordResets)
      .values({ id: resetId, username: user.username, email: user.email });
    await ctx.jobs.enqueuePasswordReset(tx, { resetId });
  });
}

export interface ConfirmPasswordResetInput {
  resetId: string;
  secretCode: string;
  newPassword: string;
}

/**
 * POST /users/password_reset/confirm. A wrong code, unknown id, used, superseded or expired
 * (15 min) link, or one for an address the user no longer has: 422 `verification_failed`. The
 * code is checked (in constant time) before the new password is hashed, and again under the
 * row locks (the user's, then the link's), so of two confirmations with one code exactly one
 * succeeds. Sets the
 * password and `password_changed_at`, uses up every link of the user, and ends ALL their
 * sessions: refresh tokens at once, access tokens through the revocation store.
 */
export async function confirmPasswordReset(
  ctx: ServiceContext,
  input: ConfirmPasswordResetInput,
): Promise<void> {
  assertValid([
    ["reset_id", resetIdRule, input.resetId],
    ["secret_code", secretCodeRule, input.secretCode],
    ["new_password", passwordRule, input.newPassword],
  ]);
  const failed = () =>
    new BusinessRuleError(
      "verification_failed",
      "this password reset link is invalid, already used or expired",
    );
  const findLink = (db: ServiceContext["db"]) =>
    db
      .select({
        username: passwordResets.username,
        email: passwordResets.email,
        secretCodeHash: passwordResets.secretCodeHash,
        isUsed: passwordResets.isUsed,
        expiredAt: passwordResets.expiredAt,
      })
      .from(passwordResets)
      .where(eq(passwordResets.id, input.resetId));
  const usable = (link: Awaited<ReturnType<typeof findLink>>[number]) =>
    sameSecret(link.secretCodeHash ?? "", hashSecretCode(input.secretCode)) &&
    !link.isUsed &&
    link.expiredAt !== null &&
    link.expiredAt.getTime() > ctx.clock.now().getTime();

  // A wrong code costs a read, never a bcrypt hash.
  const [found] = await findLink(ctx.db);
  if (!found || !usable(found)) throw failed();
  const hashedPassword = await ctx.passwords.hash(input.newPassword);
  const revoked = await inTransaction(ctx, async (tx) => {
    // The user row first, then the link: the order a new request takes them in (it locks the
    // user, then uses up their links), so the two never deadlock.
    const [user] = await tx
      .select({ email: users.email })
      .from(users)
      .where(eq(users.username, found.username))
      .for("update");
    const [link] = await findLink(tx).for("update");
    if (!link || !usable(link)) throw failed();
    if (!user || user.email.toLowerCase() !== link.email.toLowerCase()) throw failed();
    await tx
      .update(passwordResets)
      .set({ isUsed: true })
      .where(and(eq(passwordResets.username, link.username), eq(passwordResets.isUsed, false)));
    await tx
      .update(users)
      .set({ hashedPassword, passwordChangedAt: ctx.clock.now() })
      .where(eq(users.username, link.username));
    return blockSessions(tx, link.username, null);
  });
  await ctx.revocations.revokeSessions(revoked);
}
