import type { Context, MiddlewareHandler } from "hono";
import { requestIdFrom } from "../../lib/request-id.ts";
import type { SessionContext } from "../../services/context.ts";
import type { AppEnv, HttpDeps } from "../env.ts";

/** The request's id: the client's X-Request-Id when sane, else a new UUID. */
export function requestIdOf(c: Context): string {
  return requestIdFrom(c.req.header("X-Request-Id"));
}

/**
 * The outermost middleware: gives the request its id (echoed from the client when sane) and its
 * service context (the request's database handle, a logger carrying the id); then writes ONE log
 * line per request with method, route, status, duration, the caller when known and the error
 * code when it failed (at INFO; WARN for a 503, ERROR for any other 5xx).
 */
export function requestContext(deps: HttpDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdOf(c);
    const logger = deps.logger.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("deps", deps);
    c.set("ctx", { ...deps.services, db: deps.database(), logger });
    c.header("X-Request-Id", requestId);
    await next();
    const status = c.res.status;
    const { actor } = c.var.ctx as Partial<SessionContext>;
    const line = {
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(actor ? { username: actor.username } : {}),
      ...(c.var.errorCode ? { error_code: c.var.errorCode } : {}),
    };
    // 503 is an outage or a shutdown, answered with Retry-After: expected, a warning. Other
    // 5xx are bugs.
    if (status === 503) logger.warn("request", line);
    else if (status >= 500) logger.error("request", line);
    else logger.info("request", line);
  };
}
