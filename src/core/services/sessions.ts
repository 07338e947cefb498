import { createHash, randomUUID } from "node:crypto";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { PasswordHasher } from "../auth/password-hasher.ts";
import { TokenError, type TokenPayload } from "../auth/token-maker.ts";
import { preparedQuery } from "../db/prepared.ts";
import { sessions, users } from "../db/schema.ts";
import { NotFoundError, UnauthenticatedError } from "../domain/errors.ts";
import type {
  AuthenticatedActor,
  ClientInfo,
  LoginResult,
  Role,
  SessionInfo,
  TokenPair,
} from "../domain/types.ts";
import { passwordRule, sessionIdRule, usernameRule } from "../domain/users.ts";
import { inTransaction, type ServiceContext, type SessionContext } from "./context.ts";
import { isSystemUser } from "./policy.ts";
import { assertAllowed, type LimitedOperation, OPERATION_LIMITS } from "./rate-limits.ts";
import { toUser } from "./users.ts";
import { assertValid } from "./validation.ts";

/**
 * Logins, sessions and the tokens that prove them (contract, "Users and sessions"):
 * - a login opens a session whose refresh token is stored only as a SHA-256 hash;
 * - each renewal rotates the refresh token; presenting an already-rotated one blocks the whole
 *   session (theft detection), except the immediately previous one within the reuse interval;
 * - an access token is honoured only while its session is open (logout, password change and
 *   refresh-token reuse block it).
 */

const INVALID_CREDENTIALS = () =>
  new UnauthenticatedError("invalid_credentials", "invalid username or password");

/** A hash to compare against when the user does not exist, so both failures take as long. */
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();
function dummyHash(passwords: PasswordHasher): Promise<string> {
  let hash = dummyHashes.get(passwords);
  if (!hash) {
    hash = passwords.hash(randomUUID());
    dummyHashes.set(passwords, hash);
  }
  return hash;
}

/** Hashes a refresh token for storage (tokens are long and random: no salt needed). */
function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function login(
  ctx: ServiceContext,
  input: { username: string; password: string },
  client: ClientInfo,
): Promise<LoginResult> {
  assertValid([
    ["username", usernameRule, input.username],
    ["password", passwordRule, input.password],
  ]);
  // Logins are limited per username and per client IP. Every attempt is counted BEFORE the
  // password is checked (both limits in one Redis round trip): parallel guesses cannot all slip
  // past a check made before any of them had failed. An attempt refused by one limit gives the
  // other its count back; a successful login gives both back and forgives the username's
  // earlier failures, so only failures add up.
  const now = ctx.clock.now();
  const [byName, byIp] = await Promise.all([
    ctx.limiter.hit("login_username", input.username),
    ctx.limiter.hit("login_ip", client.clientIp),
  ]);
  if (!byName.allowed || !byIp.allowed) {
    await Promise.all([
      byName.allowed ? ctx.limiter.refund("login_username", input.username) : undefined,
      byIp.allowed ? ctx.limiter.refund("login_ip", client.clientIp) : undefined,
    ]);
    assertAllowed(byName, now);
    assertAllowed(byIp, now);
  }

  const [row] = await ctx.db.select().from(users).where(eq(users.username, input.username));
  if (!row || isSystemUser(row.username)) {
    await ctx.passwords.verify(input.password, await dummyHash(ctx.passwords));
    throw INVALID_CREDENTIALS();
  }
  if (!(await ctx.passwords.verify(input.password, row.hashedPassword))) {
    throw INVALID_CREDENTIALS();
  }
  await Promise.all([
    byName.remaining < byName.limit - 1
      ? ctx.limiter.reset("login_username", input.username)
      : ctx.limiter.refund("login_username", input.username),
    ctx.limiter.refund("login_ip", client.clientIp),
  ]);
  const user = toUser(row);
  const sessionId = randomUUID();
  const pair = await issueTokens(ctx, {
    username: user.username,
    role: user.role,
    sessionId,
    refreshTokenDuration: ctx.refreshTokenDuration,
  });
  await ctx.db.insert(sessions).values({
    id: sessionId,
    username: user.username,
    refreshTokenHash: hashToken(pair.refreshToken),
    userAgent: client.userAgent,
    clientIp: client.clientIp,
    expiresAt: pair.refreshTokenExpiresAt,
  });
  return { sessionId, ...pair, user };
}

type RenewOutcome =
  | { ok: true; pair: TokenPair; retried: boolean }
  | { ok: false; reason: string; revoke?: boolean };

/**
 * Trades a refresh token for a new access token AND a new refresh token; the old refresh token
 * stops working. A rotated token presented again blocks the session, and the block is
 * committed even though the call answers 401, with one exception, the reuse interval: within
 * `refreshTokenReuseInterval` of the rotation that retired it, the IMMEDIATELY previous token
 * yields a fresh pair once more (a client whose renewal response was lost retries with it).
 *
 * One chain per session, always: the session row is locked for the whole decision, so
 * concurrent renewals are decided one after the other. A retry within the interval rotates
 * the current token away (the pair the lost response carried stops working) and keeps the
 * retried token as the previous one, with the interval still counted from its first rotation;
 * so at any moment only the newest pair and, briefly, the retried token can renew, and
 * anything older blocks the session.
 */
export async function renewAccessToken(
  ctx: ServiceContext,
  input: { refreshToken: string },
): Promise<TokenPair> {
  const payload = await verifiedPayload(ctx, input.refreshToken, "refresh");
  const presentedHash = hashToken(input.refreshToken);
  const outcome = await inTransaction(ctx, async (tx): Promise<RenewOutcome> => {
    const [session] = await tx
      .select({
        username: sessions.username,
        refreshTokenHash: sessions.refreshTokenHash,
        previousRefreshTokenHash: sessions.previousRefreshTokenHash,
        rotatedAt: sessions.rotatedAt,
        isBlocked: sessions.isBlocked,
        expiresAt: sessions.expiresAt,
        role: users.role,
      })
      .from(sessions)
      .innerJoin(users, eq(users.username, sessions.username))
      .where(eq(sessions.id, payload.sessionId))
      .for("update", { of: sessions });
    if (!session) return { ok: false, reason: "unknown session" };
    if (session.isBlocked) return { ok: false, reason: "blocked session" };
    if (session.username !== payload.username)
      return { ok: false, reason: "incorrect session user" };
    const now = ctx.clock.now();
    const remaining = session.expiresAt.getTime() - now.getTime();
    if (remaining <= 0) return { ok: false, reason: "expired session" };
    const current = session.refreshTokenHash === presentedHash;
    const retried =
      !current &&
      ctx.refreshTokenReuseInterval > 0 &&
      session.previousRefreshTokenHash === presentedHash &&
      session.rotatedAt !== null &&
      now.getTime() - session.rotatedAt.getTime() <= ctx.refreshTokenReuseInterval;
    if (!current && !retried) {
      await tx.update(sessions).set({ isBlocked: true }).where(eq(sessions.id, payload.sessionId));
      return { ok: false, reason: "refresh token reused: session blocked", revoke: true };
    }
    const pair = await issueTokens(ctx, {
      username: session.username,
      role: session.role as Role,
      sessionId: payload.sessionId,
      refreshTokenDuration: remaining,
      refreshNotAfter: session.expiresAt,
    });
    await tx
      .update(sessions)
      .set(
        retried
          ? { refreshTokenHash: hashToken(pair.refreshToken) }
          : {
              refreshTokenHash: hashToken(pair.refreshToken),
              previousRefreshTokenHash: presentedHash,
              rotatedAt: now,
            },
      )
      .where(eq(sessions.id, payload.sessionId));
    return { ok: true, pair, retried };
  });
  if (!outcome.ok) {
    if (outcome.revoke) await ctx.revocations.revokeSessions([payload.sessionId]);
    ctx.logger.info("refresh token refused", {
      reason: outcome.reason,
      sessionId: payload.sessionId,
    });
    throw new UnauthenticatedError(
      "unauthenticated",
      "this session is no longer valid; log in again",
    );
  }
  if (outcome.retried) {
    ctx.logger.info("previous refresh token presented within the reuse interval: rotated again", {
      sessionId: payload.sessionId,
    });
  }
  return outcome.pair;
}

/** The caller's active sessions (not ended, not expired), oldest first. */
export async function listSessions(ctx: SessionContext): Promise<SessionInfo[]> {
  const rows = await ctx.db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.username, ctx.actor.username),
        eq(sessions.isBlocked, false),
        gt(sessions.expiresAt, ctx.clock.now()),
      ),
    )
    .orderBy(asc(sessions.createdAt), asc(sessions.id));
  return rows.map((row) => ({
    sessionId: row.id,
    userAgent: row.userAgent,
    clientIp: row.clientIp,
    createdAt: row.createdAt,
    renewedAt: row.rotatedAt,
    expiresAt: row.expiresAt,
    current: row.id === ctx.actor.sessionId,
  }));
}

/**
 * Ends one of the caller's active sessions, like a logout of it: its refresh token stops and
 * its access tokens are rejected at once on every instance. 404 for a session that is not the
 * caller's or not active (never says which).
 */
export async function endSession(ctx: SessionContext, sessionId: string): Promise<void> {
  assertValid([["session_id", sessionIdRule, sessionId]]);
  const ended = await ctx.db
    .update(sessions)
    .set({ isBlocked: true })
    .where(
      and(
        eq(sessions.id, sessionId),
        eq(sessions.username, ctx.actor.username),
        eq(sessions.isBlocked, false),
        gt(sessions.expiresAt, ctx.clock.now()),
      ),
    )
    .returning({ id: sessions.id });
  if (ended.length === 0) throw new NotFoundError("session");
  await ctx.revocations.revokeSessions([sessionId]);
}

/** Ends the caller's session: its refresh token and access tokens stop working everywhere. */
export async function logout(ctx: SessionContext): Promise<void> {
  const { sessionId } = ctx.actor;
  await ctx.db.update(sessions).set({ isBlocked: true }).where(eq(sessions.id, sessionId));
  await ctx.revocations.revokeSessions([sessionId]);
}

/**
 * Proves the caller from an `Authorization` value ("Bearer <access token>", scheme word in any
 * case): a genuine, current access token whose session has not been revoked. The token is
 * verified locally; whether its session was revoked, or the user's role changed since, is ONE
 * round trip: to Redis when configured (the same round trip also counts the caller against
 * the limit of `operation`, OPERATION_LIMITS, when it has one), otherwise, or while Redis cannot answer, to the
 * database (the session row and the user's current role, one indexed read). Either way every
 * instance, restart and isolate agrees.
 */
export async function authenticate(
  ctx: ServiceContext,
  authorization: string | undefined,
  options: { operation?: LimitedOperation } = {},
): Promise<AuthenticatedActor> {
  const token = bearerToken(authorization);
  const payload = await verifiedPayload(ctx, token, "access");
  const limit = options.operation ? OPERATION_LIMITS[options.operation] : undefined;
  const [status, decision] = await Promise.all([
    ctx.revocations.check(payload),
    limit ? ctx.limiter.hit(limit, payload.username) : undefined,
  ]);
  const verdict = status === "unknown" ? await sessionVerdict(ctx, payload) : status;
  if (verdict === "revoked") {
    throw new UnauthenticatedError("unauthenticated", "this session has been revoked");
  }
  if (verdict === "stale") {
    throw new UnauthenticatedError(
      "token_expired",
      "your account changed since this token was issued; renew it",
    );
  }
  if (decision) assertAllowed(decision, ctx.clock.now());
  return { username: payload.username, role: payload.role, sessionId: payload.sessionId };
}

/** The session row and its user's current role (prepared: it runs on every request). */
const sessionState = preparedQuery((db) =>
  db
    .select({ username: sessions.username, isBlocked: sessions.isBlocked, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.username, sessions.username))
    .where(eq(sessions.id, sql.placeholder("sessionId")))
    .prepare("session_state"),
);

/** The database's answer when the revocation store has none: the session row and the role. */
async function sessionVerdict(
  ctx: ServiceContext,
  payload: TokenPayload,
): Promise<"ok" | "revoked" | "stale"> {
  const [session] = await sessionState(ctx.db).execute({ sessionId: payload.sessionId });
  if (!session || session.isBlocked || session.username !== payload.username) return "revoked";
  return session.role === payload.role ? "ok" : "stale";
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization?.trim()) {
    throw new UnauthenticatedError("unauthenticated", "authorization header is not provided");
  }
  const fields = authorization.trim().split(/\s+/);
  if (fields.length !== 2) {
    throw new UnauthenticatedError(
      "unauthenticated",
      'invalid authorization header format: expected "Bearer <token>"',
    );
  }
  const [scheme, token] = fields as [string, string];
  if (scheme.toLowerCase() !== "bearer") {
    throw new UnauthenticatedError(
      "unauthenticated",
      `unsupported authorization type ${scheme.toLowerCase()}`,
    );
  }
  return token;
}

async function verifiedPayload(
  ctx: ServiceContext,
  token: string,
  expected: TokenPayload["tokenType"],
): Promise<TokenPayload> {
  let payload: TokenPayload;
  try {
    payload = await ctx.tokens.verify(token);
  } catch (error) {
    if (error instanceof TokenError && error.reason === "expired") {
      throw new UnauthenticatedError("token_expired", "token has expired");
    }
    throw new UnauthenticatedError("unauthenticated", "token is invalid");
  }
  if (payload.tokenType !== expected) {
    throw new UnauthenticatedError("unauthenticated", `this is not an ${expected} token`);
  }
  return payload;
}

async function issueTokens(
  ctx: ServiceContext,
  input: {
    username: string;
    role: Role;
    sessionId: string;
    refreshTokenDuration: number;
    /** The session's expiry: the refresh token must not claim to outlive it. */
    refreshNotAfter?: Date;
  },
): Promise<TokenPair> {
  const subject = { username: input.username, role: input.role, sessionId: input.sessionId };
  const access = await ctx.tokens.create({
    ...subject,
    tokenType: "access",
    durationMs: ctx.accessTokenDuration,
  });
  const refresh = await ctx.tokens.create({
    ...subject,
    tokenType: "refresh",
    durationMs: input.refreshTokenDuration,
    ...(input.refreshNotAfter ? { notAfter: input.refreshNotAfter } : {}),
  });
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.payload.expiredAt,
    refreshToken: refresh.token,
    refreshTokenExpiresAt: refresh.payload.expiredAt,
  };
}
