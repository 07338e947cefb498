import { createMiddleware } from "hono/factory";

/**
 * Responses that hand out tokens (login, renewal) must never be stored by a cache, shared or
 * private (contract, "Users and sessions"; RFC 6749 §5.1). Route middleware: the header is set
 * after the route ran, so its errors carry it too.
 */
export const noStore = createMiddleware(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
});

/** The header as the OpenAPI document shows it on a token response. */
export const NO_STORE_HEADER = {
  "Cache-Control": {
    description: "`no-store`: the body holds tokens; no cache may keep it",
    schema: { type: "string" as const, enum: ["no-store"] },
  },
};
