import type { Clock } from "../domain/clock.ts";
import { checkTimes } from "./token-claims.ts";
import type { TokenMaker, TokenPayload } from "./token-maker.ts";

/** How many verified tokens one process (or isolate) remembers: a few MiB at most. */
const VERIFIED_TOKENS_CAPACITY = 10_000;

/**
 * Remembers the payloads of tokens this maker has verified, so a client's next request with
 * the same token skips the decryption or signature check (PASETO's BLAKE2b and XChaCha20 in
 * JavaScript were the largest single cost of an authenticated request). A token string maps to
 * exactly one payload under one key, so what is remembered is what verifying again would give;
 * only the time checks depend on "now", and they run again on every hit, with the same clock:
 * a remembered token expires exactly when it would have. Nothing else is skipped: whether the
 * token's session was revoked is asked on every request (services/sessions.ts `authenticate`).
 *
 * Bounded twice: an entry leaves when its token expires (found on a hit), and past `capacity`
 * the oldest entry leaves first.
 */
export function rememberVerifiedTokens(
  maker: TokenMaker,
  clock: Clock,
  capacity = VERIFIED_TOKENS_CAPACITY,
): TokenMaker {
  const verified = new Map<string, TokenPayload>();
  return {
    kind: maker.kind,
    create: (request) => maker.create(request),
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        try {
          return checkTimes(known, clock.now());
        } catch (error) {
          verified.delete(token);
          throw error;
        }
      }
      const payload = await maker.verify(token);
      if (verified.size >= capacity) verified.delete(verified.keys().next().value as string);
      verified.set(token, payload);
      return payload;
    },
  };
}
