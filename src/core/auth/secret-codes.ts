import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The secret codes of emailed links (email verification, password reset): minted here, kept as
 * SHA-256 where the link allows it, compared in constant time.
 */

/** 128 bits is the contract's minimum; these are 256, url-safe (43 characters). */
export function newSecretCode(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * SHA-256 (hex) of a code: what a table keeps instead of the code. A code carries 256 random
 * bits, so a plain digest is as good as a slow hash here (nothing to brute-force).
 */
export function hashSecretCode(code: string): string {
  return createHash("sha256").update(code).digest("hex");
}

/** Constant-time equality of two secrets of any length (compares their SHA-256 digests). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
