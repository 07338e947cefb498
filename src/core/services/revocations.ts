/**
 * Instant revocation of access tokens, the policy half. Access tokens are verified locally
 * (signature and expiry); what they cannot say by themselves is whether their session was
 * revoked since (logout, password change, refresh-token reuse) or whether the user's role
 * changed since they were issued. The store (HTTP Redis, shared by every instance, or
 * in-process) remembers both for as long as an access token can live.
 */
export type RevocationStatus =
  /** Neither revoked nor outdated. */
  | "ok"
  /** The session was revoked. */
  | "revoked"
  /** The user changed (role) after the token was issued: renew it. */
  | "stale"
  /** The store could not answer (Redis down): ask the database instead. */
  | "unknown";

export interface SessionRevocations {
  /** "redis" or "memory": said at start-up. */
  readonly kind: string;
  check(token: { sessionId: string; username: string; issuedAt: Date }): Promise<RevocationStatus>;
  /** Rejects these sessions' access tokens from now on, on every instance. */
  revokeSessions(sessionIds: string[]): Promise<void>;
  /** Access tokens of `username` issued before now must be renewed. */
  markUserChanged(username: string): Promise<void>;
}
