import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";

/** What a face of the API lets a browser send and read on top of the shared policy. */
export interface CorsExtras {
  methods?: readonly string[];
  allowHeaders?: readonly string[];
  exposeHeaders?: readonly string[];
}

const METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
const ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"];
const EXPOSE_HEADERS = [
  "X-Request-Id",
  // Cursor pagination's next page (the web console hosted apart reads it).
  "Link",
  "Idempotent-Replayed",
  "Retry-After",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
];

const unique = (...lists: (readonly string[] | undefined)[]) => [
  ...new Set(lists.flatMap((list) => list ?? [])),
];

/**
 * THE CORS policy, for REST and for Connect / gRPC-Web alike (contract, Conventions): an origin
 * in `allowedOrigins` gets the CORS headers, with credentials; any other origin, or a request
 * without one, gets none at all (not even `Access-Control-Allow-Credentials`), and goes on to the
 * route like any request (a preflight from it is then the route's 405 or 404). Every answer
 * says `Vary: Origin`, since it depends on the origin.
 */
export function corsPolicy(allowedOrigins: readonly string[], extras: CorsExtras = {}) {
  const allowed = new Set(allowedOrigins);
  const withHeaders = cors({
    origin: (origin) => origin,
    credentials: true,
    allowMethods: unique(METHODS, extras.methods),
    allowHeaders: unique(ALLOW_HEADERS, extras.allowHeaders),
    exposeHeaders: unique(EXPOSE_HEADERS, extras.exposeHeaders),
    maxAge: 600,
  });
  return createMiddleware(async (c, next) => {
    const origin = c.req.header("Origin");
    if (origin !== undefined && allowed.has(origin)) return withHeaders(c, next);
    await next();
    c.header("Vary", "Origin", { append: true });
  });
}
