import type { MiddlewareHandler } from "hono";
import type { AppEnv, HttpDeps } from "../env.ts";

const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The outermost middleware: gives the request its id (echoed from the client when sane), a
 * logger carrying it, and the app's dependencies; then writes ONE log line per request with
 * method, route, status, duration, the caller when known and the error code when it failed.
 */
export function requestContext(deps: HttpDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("X-Request-Id");
    const requestId = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const logger = deps.logger.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("logger", logger);
    c.set("deps", deps);
    c.header("X-Request-Id", requestId);
    await next();
    const status = c.res.status;
    const line = {
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(c.var.actor ? { username: c.var.actor.username } : {}),
      ...(c.var.errorCode ? { error_code: c.var.errorCode } : {}),
    };
    if (status >= 500) logger.error("request", line);
    else logger.info("request", line);
  };
}
