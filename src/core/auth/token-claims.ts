import { z } from "zod";
import type { Clock } from "../domain/clock.ts";
import { ROLES } from "../domain/types.ts";
import { TokenError, type TokenPayload, type TokenRequest } from "./token-maker.ts";

/** What both token makers are built from. */
export interface TokenMakerOptions {
  /** The shared secret, as configured (TOKEN_SYMMETRIC_KEY); its UTF-8 bytes are the key. */
  symmetricKey: string;
  /** The only source of "now", when creating AND when verifying tokens. */
  clock: Clock;
}

/**
 * How far in the future `issued_at` / `nbf` may be and the token still be accepted: allowance
 * for clocks of different instances disagreeing a little. There is NO allowance on expiry: a
 * token is expired as soon as now > `expired_at` (as in the original).
 */
export const CLOCK_SKEW_MS = 30_000;

/**
 * Longer strings are rejected before any decoding. Our tokens are a few hundred characters
 * (usernames are at most 100), so this only spares the libraries from arbitrary input.
 */
export const MAX_TOKEN_LENGTH = 4096;

/** RFC 3339, UTC with `Z`, as `Date.prototype.toISOString` writes it. */
const timestamp = z.iso.datetime();

/** The custom claims both formats carry (see token-maker.ts). Unknown claims are ignored. */
const wireClaimsSchema = z.object({
  id: z.uuid(),
  sid: z.uuid(),
  username: z.string().min(1).max(100),
  role: z.enum(ROLES),
  token_type: z.enum(["access", "refresh"]),
  issued_at: timestamp,
  expired_at: timestamp,
});

export type WireClaims = z.infer<typeof wireClaimsSchema>;

/** PASETO's registered time claims: ISO 8601 strings equal to issued_at / expired_at. */
export const pasetoClaimsSchema = wireClaimsSchema.extend({
  iat: timestamp,
  nbf: timestamp,
  exp: timestamp,
});

/** JWT's registered time claims: whole seconds since the epoch (NumericDate). */
export const jwtClaimsSchema = wireClaimsSchema.extend({
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
});

/**
 * The payload of a new token issued at `now`. Throws a plain Error for a request that could
 * never verify (bad session id, empty username, non-finite duration): a programming error.
 */
export function newPayload(request: TokenRequest, now: Date): TokenPayload {
  if (!Number.isFinite(request.durationMs)) {
    throw new Error("token duration must be a finite number of milliseconds");
  }
  const issuedAt = new Date(now.getTime());
  const expiresMs = issuedAt.getTime() + request.durationMs;
  const payload: TokenPayload = {
    id: crypto.randomUUID(),
    sessionId: request.sessionId,
    username: request.username,
    role: request.role,
    tokenType: request.tokenType,
    issuedAt,
    expiredAt: new Date(
      request.notAfter === undefined ? expiresMs : Math.min(expiresMs, request.notAfter.getTime()),
    ),
  };
  const checked = wireClaimsSchema.safeParse(toWireClaims(payload));
  if (!checked.success) {
    throw new Error(`cannot create a token for this request: ${z.prettifyError(checked.error)}`);
  }
  return payload;
}

export function toWireClaims(payload: TokenPayload): WireClaims {
  return {
    id: payload.id,
    sid: payload.sessionId,
    username: payload.username,
    role: payload.role,
    token_type: payload.tokenType,
    issued_at: payload.issuedAt.toISOString(),
    expired_at: payload.expiredAt.toISOString(),
  };
}

export function fromWireClaims(claims: WireClaims): TokenPayload {
  return {
    id: claims.id,
    sessionId: claims.sid,
    username: claims.username,
    role: claims.role,
    tokenType: claims.token_type,
    issuedAt: new Date(claims.issued_at),
    expiredAt: new Date(claims.expired_at),
  };
}

/**
 * The time rules, applied last (to a genuine token with well-formed claims): issued more than
 * CLOCK_SKEW_MS in the future → "invalid"; now > expired_at → "expired".
 */
export function checkTimes(payload: TokenPayload, now: Date): TokenPayload {
  const nowMs = now.getTime();
  if (payload.issuedAt.getTime() - nowMs > CLOCK_SKEW_MS) throw new TokenError("invalid");
  if (nowMs > payload.expiredAt.getTime()) throw new TokenError("expired");
  return payload;
}

/** Cheap checks before any library sees the string. */
export function isPlausibleToken(token: unknown): token is string {
  return typeof token === "string" && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

/** A plain Error naming the key's problem, for the makers' constructors. */
export function keyBytes(symmetricKey: string): Uint8Array {
  if (typeof symmetricKey !== "string") throw new Error("invalid key: must be a string");
  return new TextEncoder().encode(symmetricKey);
}
