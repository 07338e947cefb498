/**
 * Unpadded base64url (RFC 4648 §5) with a STRICT decoder, for the token makers.
 *
 * Both libraries decode leniently: paseto-ts uses `atob` after mapping `-`/`_`, so a token
 * spelled with `+`/`/` decodes to the same bytes; jose uses `Uint8Array.fromBase64` in its
 * default "loose" mode. Neither checks the unused low bits of the last character, so a
 * token whose final character is changed only in those bits still authenticates. The makers
 * therefore accept a token only when every segment is the canonical encoding of its bytes.
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The bytes of a canonical unpadded base64url string, or undefined for anything else. */
function base64UrlDecodeStrict(text: string): Uint8Array | undefined {
  // atob (WHATWG forgiving-base64) refuses only a length ≡ 1 (mod 4) or characters outside
  // the alphabet, both excluded here: past this line it cannot throw.
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  // Rejects non-zero unused bits in the last character (the only remaining ambiguity).
  return base64UrlEncode(bytes) === text ? bytes : undefined;
}

export function isCanonicalBase64Url(text: string): boolean {
  return base64UrlDecodeStrict(text) !== undefined;
}
