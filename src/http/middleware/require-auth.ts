import { createMiddleware } from "hono/factory";
import { authenticate } from "../../services/sessions.ts";
import type { AuthEnv } from "../env.ts";

/**
 * Protected routes list this in their route definition. It proves the caller from the
 * `Authorization` header (401 otherwise) and sets `actor` for the handler.
 */
export const requireAuth = createMiddleware<AuthEnv>(async (c, next) => {
  const actor = await authenticate(c.var.deps.services, c.req.header("Authorization"));
  c.set("actor", actor);
  await next();
});
