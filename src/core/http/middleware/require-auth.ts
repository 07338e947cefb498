import { createMiddleware } from "hono/factory";
import type { RateLimitName } from "../../services/rate-limits.ts";
import { authenticate } from "../../services/sessions.ts";
import type { AuthEnv } from "../env.ts";

/**
 * Protected routes list this in their route definition. It proves the caller from the
 * `Authorization` header (401 otherwise) and puts the caller into the request's context.
 */
export const requireAuth = requireAuthLimitedBy();

/**
 * `requireAuth` for an operation rate limited per user (transfers, resend verification): the
 * count is taken in the same round trip as the revocation check (429 over the limit).
 */
export function requireAuthLimitedBy(rateLimit?: RateLimitName) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const actor = await authenticate(c.var.ctx, c.req.header("Authorization"), { rateLimit });
    c.set("ctx", { ...c.var.ctx, actor });
    await next();
  });
}
