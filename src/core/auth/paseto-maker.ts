import { decrypt, encrypt } from "paseto-ts/v4";
import { base64UrlEncode, isCanonicalBase64Url } from "./base64url.ts";
import {
  checkTimes,
  fromWireClaims,
  isPlausibleToken,
  keyBytes,
  newPayload,
  pasetoClaimsSchema,
  type TokenMakerOptions,
  toWireClaims,
} from "./token-claims.ts";
import { TokenError, type TokenMaker, type TokenPayload } from "./token-maker.ts";

/** PASETO v4.local keys are exactly 32 bytes. */
const PASETO_KEY_BYTES = 32;

/** `v4.local.` + one base64url segment; we never write a footer, so we accept none. */
const PASETO_V4_LOCAL = /^v4\.local\.([A-Za-z0-9_-]+)$/;

/**
 * PASETO v4.local (XChaCha20 + BLAKE2b-MAC) via paseto-ts. The key is the raw UTF-8 bytes of
 * `symmetricKey`, handed to paseto-ts in its PASERK form `k4.local.<base64url>`.
 *
 * paseto-ts validates `iat`/`nbf`/`exp` against `Date.now()` (not injectable), adds its own
 * `iat` and a 1 h `exp` unless told not to, refuses to encrypt an already-expired payload, and
 * reports an expired token with the same error class as any other bad claim. So its claim
 * handling is switched off (`addIat`/`addExp`/`validatePayload: false`) and this module writes
 * and checks the registered claims itself, with the injected clock: `iat` = `nbf` =
 * `issued_at`, `exp` = `expired_at` (ISO strings), all required to agree on verification.
 */
export function createPasetoMaker({ symmetricKey, clock }: TokenMakerOptions): TokenMaker {
  const raw = keyBytes(symmetricKey);
  if (raw.length !== PASETO_KEY_BYTES) {
    throw new Error(
      `invalid key size: must be exactly ${PASETO_KEY_BYTES} bytes (got ${raw.length})`,
    );
  }
  const key = `k4.local.${base64UrlEncode(raw)}`;

  return {
    kind: "paseto",

    async create(request) {
      const payload = newPayload(request, clock.now());
      const claims = toWireClaims(payload);
      const token = encrypt(
        key,
        { ...claims, iat: claims.issued_at, nbf: claims.issued_at, exp: claims.expired_at },
        { addIat: false, addExp: false, validatePayload: false },
      );
      return { token, payload };
    },

    async verify(token) {
      const now = clock.now();
      if (!isPlausibleToken(token)) throw new TokenError("invalid");
      const body = PASETO_V4_LOCAL.exec(token)?.[1];
      if (body === undefined || !isCanonicalBase64Url(body)) throw new TokenError("invalid");

      let decrypted: unknown;
      try {
        // Throws for a wrong key or any altered byte (authentication tag), a bad payload, etc.
        decrypted = decrypt(key, token, { validatePayload: false }).payload;
      } catch {
        throw new TokenError("invalid");
      }
      return checkTimes(pasetoPayload(decrypted), now);
    },
  };
}

/** The payload of decrypted claims, if well-formed and consistent; else "invalid". */
function pasetoPayload(decrypted: unknown): TokenPayload {
  const parsed = pasetoClaimsSchema.safeParse(decrypted);
  if (!parsed.success) throw new TokenError("invalid");
  const claims = parsed.data;
  const payload = fromWireClaims(claims);
  const issuedAt = payload.issuedAt.getTime();
  const consistent =
    Date.parse(claims.iat) === issuedAt &&
    Date.parse(claims.nbf) === issuedAt &&
    Date.parse(claims.exp) === payload.expiredAt.getTime();
  if (!consistent) throw new TokenError("invalid");
  return payload;
}
