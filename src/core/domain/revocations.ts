/**
 * Instant revocation of access tokens, the policy half. Access tokens are verified locally
 * (signature and expiry); what they cannot say by themselves is whether their session was
 * revoked since (logout, password change, refresh-token reuse) or whether the user's role
 * changed since they were issued. The database always knows (the session row is blocked, the
 * user row holds the current role); a store in HTTP Redis, when configured, answers the same
 * question for every instance in one cheap round trip, remembering both for as long as an access
 * token can live. Nothing lives in a process's memory: every process, restart and isolate
 * agrees.
 */
export type RevocationStatus =
  /** Neither revoked nor outdated. */
  | "ok"
  /** The session was revoked. */
  | "revoked"
  /** The user changed (role) after the token was issued: renew it. */
  | "stale"
  /** The store cannot answer (none configured, or Redis down): ask the database. */
  | "unknown";

export interface SessionRevocations {
  /** "redis" or "database": said at start-up. */
  readonly kind: string;
  check(token: { sessionId: string; username: string; issuedAt: Date }): Promise<RevocationStatus>;
  /** Rejects these sessions' access tokens from now on, on every instance. */
  revokeSessions(sessionIds: string[]): Promise<void>;
  /** Access tokens of `username` issued before now must be renewed. */
  markUserChanged(username: string): Promise<void>;
}
