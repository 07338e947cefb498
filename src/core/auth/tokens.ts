import { createJwtMaker } from "./jwt-maker.ts";
import { createPasetoMaker } from "./paseto-maker.ts";
import type { TokenMakerOptions } from "./token-claims.ts";
import type { TokenMaker } from "./token-maker.ts";
import { rememberVerifiedTokens } from "./verified-tokens.ts";

export type { TokenMakerOptions } from "./token-claims.ts";
export { CLOCK_SKEW_MS, MAX_TOKEN_LENGTH } from "./token-claims.ts";
export {
  TokenError,
  type TokenMaker,
  type TokenPayload,
  type TokenRequest,
} from "./token-maker.ts";
export { createJwtMaker, createPasetoMaker };

/** Each TOKEN_TYPE's maker (the config accepts only these kinds; the type keeps it exhaustive). */
const MAKERS = {
  paseto: createPasetoMaker,
  jwt: createJwtMaker,
} as const satisfies Record<TokenMaker["kind"], (options: TokenMakerOptions) => TokenMaker>;

/**
 * The configured token maker (TOKEN_TYPE): PASETO v4.local (the default) or JWT HS256, which
 * remembers the tokens it has verified (verified-tokens.ts).
 */
export function createTokenMaker(
  options: TokenMakerOptions & { kind: TokenMaker["kind"] },
): TokenMaker {
  const { kind, ...rest } = options;
  return rememberVerifiedTokens(MAKERS[kind](rest), rest.clock);
}
