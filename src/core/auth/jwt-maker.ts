import { errors, jwtVerify, SignJWT } from "jose";
import { isCanonicalBase64Url } from "./base64url.ts";
import {
  CLOCK_SKEW_MS,
  checkTimes,
  fromWireClaims,
  isPlausibleToken,
  jwtClaimsSchema,
  keyBytes,
  newPayload,
  type TokenMakerOptions,
  toWireClaims,
} from "./token-claims.ts";
import { TokenError, type TokenMaker, type TokenPayload } from "./token-maker.ts";

/** HS256 keys: at least 32 bytes (as the original's `minSecretKeySize`). */
const JWT_MIN_KEY_BYTES = 32;

/** Compact JWS: three non-empty base64url segments (so `alg: none`'s empty signature fails). */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/** NumericDate: whole seconds, rounded down. */
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * JWT signed with HS256 via jose; verification accepts ONLY HS256 with `typ: JWT` (`alg:
 * none`, HS512, RS256… are "invalid"). Besides the custom claims it carries `iat` = `nbf` =
 * floor(issued_at) and `exp` = floor(expired_at) in whole seconds; they must agree on
 * verification. A generic JWT library will therefore see the token expire up to one second
 * before `expired_at`, which is what this service checks (to the millisecond).
 */
export function createJwtMaker({ symmetricKey, clock }: TokenMakerOptions): TokenMaker {
  const key = keyBytes(symmetricKey);
  if (key.length < JWT_MIN_KEY_BYTES) {
    throw new Error(
      `invalid key size: must be at least ${JWT_MIN_KEY_BYTES} bytes (got ${key.length})`,
    );
  }

  return {
    kind: "jwt",

    async create(request) {
      const payload = newPayload(request, clock.now());
      const token = await new SignJWT(toWireClaims(payload))
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuedAt(seconds(payload.issuedAt))
        .setNotBefore(seconds(payload.issuedAt))
        .setExpirationTime(seconds(payload.expiredAt))
        .sign(key);
      return { token, payload };
    },

    async verify(token) {
      const now = clock.now();
      if (!isPlausibleToken(token)) throw new TokenError("invalid");
      const segments = COMPACT_JWS.exec(token);
      if (segments === null || !segments.slice(1).every(isCanonicalBase64Url)) {
        throw new TokenError("invalid");
      }

      let verified: unknown;
      try {
        // jose checks the signature first, then (with our clock and skew) nbf and exp.
        const result = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          typ: "JWT",
          currentDate: now,
          clockTolerance: CLOCK_SKEW_MS / 1000,
          requiredClaims: ["iat", "nbf", "exp"],
        });
        verified = result.payload;
      } catch (error) {
        // Only thrown once the signature is good: a genuine token, long expired.
        if (error instanceof errors.JWTExpired) throw new TokenError("expired");
        throw new TokenError("invalid");
      }
      return checkTimes(jwtPayload(verified), now);
    },
  };
}

/** The payload of verified claims, if well-formed and consistent; else "invalid". */
function jwtPayload(verified: unknown): TokenPayload {
  const parsed = jwtClaimsSchema.safeParse(verified);
  if (!parsed.success) throw new TokenError("invalid");
  const claims = parsed.data;
  const payload = fromWireClaims(claims);
  const consistent =
    claims.iat === seconds(payload.issuedAt) &&
    claims.nbf === claims.iat &&
    claims.exp === seconds(payload.expiredAt);
  if (!consistent) throw new TokenError("invalid");
  return payload;
}
