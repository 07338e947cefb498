import { createMiddleware } from "hono/factory";
import type { LimitedOperation } from "../../services/rate-limits.ts";
import { authenticate } from "../../services/sessions.ts";
import type { AuthEnv } from "../env.ts";

/**
 * Protected routes list this in their route definition. It proves the caller from the
 * `Authorization` header (401 otherwise) and puts the caller into the request's context.
 */
export const requireAuth = requireAuthFor();

/**
 * `requireAuth` for an operation the services limit per caller (a transfer, resend
 * verification): the route names the operation, the services say which limit guards it.
 */
export function requireAuthFor(operation?: LimitedOperation) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const actor = await authenticate(c.var.ctx, c.req.header("Authorization"), { operation });
    c.set("ctx", { ...c.var.ctx, actor });
    await next();
  });
}
