import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { requestIdOf } from "./middleware/request-context.ts";
import { unavailableResponse } from "./problem.ts";

/**
 * An app that answers every request 503 problem+json (`unavailable`, with Retry-After and its
 * request id): what a Worker whose configuration is invalid serves, so that it fails closed.
 */
export function createUnavailableApp(detail: string) {
  const app = new Hono<AppEnv>();
  app.all("*", (c) => {
    const requestId = requestIdOf(c);
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    return unavailableResponse(c, detail);
  });
  return app;
}
