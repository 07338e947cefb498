import type { Role } from "../domain/types.ts";

/**
 * Access and refresh tokens (contract, "Tokens"). Two implementations behind one interface,
 * chosen by TOKEN_TYPE: PASETO v4.local (paseto-ts; the default) and JWT HS256 (jose).
 *
 * Wire claims (both types): `id` (uuid v4, unique per token), `sid` (session id), `username`,
 * `role`, `token_type` ("access" | "refresh", so one can never stand in for the other),
 * `issued_at`, `expired_at` (RFC 3339, UTC). Each implementation may add its format's
 * standard time claims (`iat`, `nbf`, `exp`) and must then agree with the custom ones.
 */
type TokenType = "access" | "refresh";

export interface TokenPayload {
  id: string;
  sessionId: string;
  username: string;
  role: Role;
  tokenType: TokenType;
  issuedAt: Date;
  expiredAt: Date;
}

export interface TokenRequest {
  username: string;
  role: Role;
  sessionId: string;
  tokenType: TokenType;
  /** Lifetime in milliseconds; negative values make an already-expired token (tests). */
  durationMs: number;
  /** If set, the token expires no later than this (a rotated refresh token never outlives its session). */
  notAfter?: Date;
}

export interface TokenMaker {
  readonly kind: "paseto" | "jwt";
  create(request: TokenRequest): Promise<{ token: string; payload: TokenPayload }>;
  /**
   * Resolves to the payload of a genuine, current token. Rejects with a `TokenError`:
   * "expired" when it is past `expired_at`, "invalid" for anything else (tampered, wrong key,
   * other token format, `alg: none`, not yet valid, malformed claims).
   */
  verify(token: string): Promise<TokenPayload>;
}

export class TokenError extends Error {
  constructor(readonly reason: "invalid" | "expired") {
    super(reason === "expired" ? "token has expired" : "token is invalid");
    this.name = "TokenError";
  }
}
