import { and, eq, ne, sql } from "drizzle-orm";
import type { z } from "zod";
import { sameSecret } from "../auth/secret-codes.ts";
import type { Transaction } from "../db/client.ts";
import { isConstraintViolation } from "../db/errors.ts";
import { sessions, users, verifyEmails } from "../db/schema.ts";
import {
  BusinessRuleError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from "../domain/errors.ts";
import { idRule } from "../domain/ids.ts";
import { type ClientInfo, ROLES, type Role, type User } from "../domain/types.ts";
import {
  emailRule,
  fullNameRule,
  passwordRule,
  RESERVED_USERNAMES,
  secretCodeRule,
  usernameRule,
} from "../domain/users.ts";
import { inTransaction, type ServiceContext, type SessionContext } from "./context.ts";
import { assertCanUpdateUser, assertNotSystemUser } from "./policy.ts";
import { assertAllowed } from "./rate-limits.ts";
import { assertValid } from "./validation.ts";

export function toUser(row: typeof users.$inferSelect): User {
  return {
    username: row.username,
    fullName: row.fullName,
    email: row.email,
    role: row.role as Role,
    isEmailVerified: row.isEmailVerified,
    passwordChangedAt: row.passwordChangedAt,
    createdAt: row.createdAt,
  };
}

export interface CreateUserInput {
  username: string;
  password: string;
  fullName: string;
  email: string;
}

/**
 * Registers a depositor and, in the SAME transaction, enqueues the verification email: no
 * user without its job, no job without its user. 409 `username_taken` / `email_taken`
 * (emails are unique case-insensitively; the system user's name and the fixed path words under
 * `/users/` are reserved).
 */
export async function createUser(
  ctx: ServiceContext,
  input: CreateUserInput,
  client: Pick<ClientInfo, "clientIp">,
): Promise<User> {
  assertAllowed(await ctx.limiter.hit("signup_ip", client.clientIp), ctx.clock.now());
  assertValid([
    ["username", usernameRule, input.username],
    ["password", passwordRule, input.password],
    ["full_name", fullNameRule, input.fullName],
    ["email", emailRule, input.email],
  ]);
  if (RESERVED_USERNAMES.includes(input.username)) throw usernameTaken();
  const hashedPassword = await ctx.passwords.hash(input.password);
  try {
    return await inTransaction(ctx, async (tx) => {
      const [row] = await tx
        .insert(users)
        .values({
          username: input.username,
          hashedPassword,
          fullName: input.fullName,
          email: input.email,
        })
        .returning();
      if (!row) throw new Error("insert into users returned no row");
      await ctx.jobs.enqueueVerifyEmail(tx, { username: row.username });
      return toUser(row);
    });
  } catch (error) {
    throw uniqueUserConflict(error) ?? error;
  }
}

/** The caller's own profile. */
export async function getUser(ctx: ServiceContext, username: string): Promise<User> {
  const [row] = await ctx.db.select().from(users).where(eq(users.username, username));
  if (!row) throw new NotFoundError("user");
  return toUser(row);
}

export interface UpdateUserInput {
  fullName?: string;
  email?: string;
  password?: string;
}

/**
 * Changes only the fields given. A depositor may update only themself, a banker anyone but
 * the system user. A new password sets `password_changed_at` and revokes the user's other
 * sessions (all of them when a banker changes someone else's); a new email address resets
 * `is_email_verified` and enqueues a verification email, in the same transaction.
 */
export async function updateUser(
  ctx: SessionContext,
  username: string,
  input: UpdateUserInput,
): Promise<User> {
  const { actor } = ctx;
  const fields: [string, z.ZodType, unknown][] = [];
  if (input.fullName !== undefined) fields.push(["full_name", fullNameRule, input.fullName]);
  if (input.email !== undefined) fields.push(["email", emailRule, input.email]);
  if (input.password !== undefined) fields.push(["password", passwordRule, input.password]);
  assertValid([["username", usernameRule, username], ...fields]);
  if (fields.length === 0) {
    throw new ValidationError([
      { field: "(body)", message: "give at least one of full_name, email, password" },
    ]);
  }
  assertCanUpdateUser(actor, username);

  const hashedPassword =
    input.password === undefined ? undefined : await ctx.passwords.hash(input.password);
  let revoked: string[] = [];
  try {
    const user = await inTransaction(ctx, async (tx) => {
      const [current] = await tx
        .select()
        .from(users)
        .where(eq(users.username, username))
        .for("update");
      if (!current) throw new NotFoundError("user");
      const emailChanged =
        input.email !== undefined && input.email.toLowerCase() !== current.email.toLowerCase();
      const [row] = await tx
        .update(users)
        .set({
          ...(input.fullName !== undefined ? { fullName: input.fullName } : {}),
          ...(input.email !== undefined ? { email: input.email } : {}),
          ...(emailChanged ? { isEmailVerified: false } : {}),
          ...(hashedPassword !== undefined
            ? { hashedPassword, passwordChangedAt: ctx.clock.now() }
            : {}),
        })
        .where(eq(users.username, username))
        .returning();
      if (!row) throw new Error("update of users returned no row");
      revoked =
        hashedPassword === undefined
          ? []
          : await blockSessions(tx, username, actor.username === username ? actor.sessionId : null);
      if (emailChanged) await ctx.jobs.enqueueVerifyEmail(tx, { username });
      return toUser(row);
    });
    await ctx.revocations.revokeSessions(revoked);
    return user;
  } catch (error) {
    throw uniqueUserConflict(error) ?? error;
  }
}

/**
 * Blocks every open session of `username` except `keep` (the caller's own, if any); returns
 * their ids, for the revocation store once the transaction has committed.
 */
export async function blockSessions(
  tx: Transaction,
  username: string,
  keep: string | null,
): Promise<string[]> {
  const blocked = await tx
    .update(sessions)
    .set({ isBlocked: true })
    .where(
      and(
        eq(sessions.username, username),
        eq(sessions.isBlocked, false),
        keep === null ? undefined : ne(sessions.id, keep),
      ),
    )
    .returning({ id: sessions.id });
  return blocked.map((session) => session.id);
}

/**
 * Sends the caller a new verification email (POST /users/resend_verification): limited per
 * user; 422 `already_verified` when there is nothing to verify.
 */
export async function resendVerification(ctx: SessionContext): Promise<{ email: string }> {
  const { actor } = ctx;
  return inTransaction(ctx, async (tx) => {
    const [user] = await tx
      .select({ email: users.email, isEmailVerified: users.isEmailVerified })
      .from(users)
      .where(eq(users.username, actor.username));
    if (!user) throw new NotFoundError("user");
    if (user.isEmailVerified) {
      throw new BusinessRuleError("already_verified", "your email address is already verified");
    }
    await ctx.jobs.enqueueVerifyEmail(tx, { username: actor.username });
    return { email: user.email };
  });
}

/**
 * Follows a verification link: marks it used and the user's address verified. A wrong code,
 * unknown id, used or expired link, or a link for an address the user no longer has, all
 * answer 422 `verification_failed`. The code is compared in constant time.
 */
export async function verifyEmail(
  ctx: Pick<ServiceContext, "db" | "logger">,
  input: { emailId: number; secretCode: string },
): Promise<{ isVerified: true }> {
  assertValid([
    ["email_id", idRule, input.emailId],
    ["secret_code", secretCodeRule, input.secretCode],
  ]);
  const failed = () =>
    new BusinessRuleError(
      "verification_failed",
      "this verification link is invalid, already used or expired",
    );
  return inTransaction(ctx, async (tx) => {
    const [link] = await tx
      .select({
        id: verifyEmails.id,
        username: verifyEmails.username,
        email: verifyEmails.email,
        secretCode: verifyEmails.secretCode,
        isUsed: verifyEmails.isUsed,
        current: sql<boolean>`${verifyEmails.expiredAt} > now()`,
      })
      .from(verifyEmails)
      .where(eq(verifyEmails.id, input.emailId))
      .for("update");
    if (!link || !sameSecret(link.secretCode, input.secretCode)) throw failed();
    if (link.isUsed || !link.current) throw failed();
    const [user] = await tx
      .select({ email: users.email })
      .from(users)
      .where(eq(users.username, link.username))
      .for("update");
    if (!user || user.email.toLowerCase() !== link.email.toLowerCase()) throw failed();
    await tx.update(verifyEmails).set({ isUsed: true }).where(eq(verifyEmails.id, link.id));
    await tx.update(users).set({ isEmailVerified: true }).where(eq(users.username, link.username));
    return { isVerified: true as const };
  });
}

const usernameTaken = () => new ConflictError("username_taken", "this username is already taken");

function uniqueUserConflict(error: unknown): ConflictError | undefined {
  if (isConstraintViolation(error, "users_pkey")) return usernameTaken();
  if (isConstraintViolation(error, "users_email_key")) {
    return new ConflictError("email_taken", "this email address is already registered");
  }
  return undefined;
}

/**
 * Operator only (the CLI's `grant-role`; never the public API): gives a user a role. The
 * system user keeps none. Access tokens carry the role, so their older access tokens get 401
 * `token_expired` on every instance at once, and the renewed ones carry the new role: the
 * authentication check compares the token's role with the user's current one (in the database,
 * or through the mark left here in Redis when it is configured).
 */
export async function grantRole(
  ctx: Pick<ServiceContext, "db" | "revocations">,
  username: string,
  role: Role,
): Promise<User> {
  assertValid([["username", usernameRule, username]]);
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ValidationError([{ field: "role", message: `must be one of ${ROLES.join(", ")}` }]);
  }
  assertNotSystemUser(username);
  const [row] = await ctx.db
    .update(users)
    .set({ role })
    .where(eq(users.username, username))
    .returning();
  if (!row) throw new NotFoundError("user");
  // Access tokens carry the role: the ones issued before now must be renewed to get the new one.
  await ctx.revocations.markUserChanged(username);
  return toUser(row);
}
