import { createJwtMaker } from "./jwt-maker.ts";
import { createPasetoMaker } from "./paseto-maker.ts";
import type { TokenMakerOptions } from "./token-claims.ts";
import type { TokenMaker } from "./token-maker.ts";

export type { TokenMakerOptions } from "./token-claims.ts";
export { CLOCK_SKEW_MS, MAX_TOKEN_LENGTH } from "./token-claims.ts";
export {
  TokenError,
  type TokenMaker,
  type TokenPayload,
  type TokenRequest,
} from "./token-maker.ts";
export { createJwtMaker, createPasetoMaker };

/** The configured token maker (TOKEN_TYPE): PASETO v4.local (the default) or JWT HS256. */
export function createTokenMaker(
  options: TokenMakerOptions & { kind: TokenMaker["kind"] },
): TokenMaker {
  const { kind, ...rest } = options;
  switch (kind) {
    case "paseto":
      return createPasetoMaker(rest);
    case "jwt":
      return createJwtMaker(rest);
    default:
      throw new Error(`unknown token kind: ${String(kind satisfies never)}`);
  }
}
